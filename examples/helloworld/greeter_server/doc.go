// Command greeter_server serves the helloworld Greeter service over h2c.
package main
