// Package helloworld shows a Greeter service end to end: its generated
// code is in the helloworld subpackage, and greeter_server and
// greeter_client are the two sides.
package helloworld
