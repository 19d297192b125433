// Package helloworld is the generated code of the Greeter service.
package helloworld
