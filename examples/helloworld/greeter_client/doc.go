// Command greeter_client calls the helloworld Greeter service once.
package main
