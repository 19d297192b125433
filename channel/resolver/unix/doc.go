// Package unix implements the resolvers of unix domain socket targets:
// "unix:path" (relative), "unix:///absolute/path" and
// "unix-abstract:name" (a name in Linux's abstract socket namespace).
// Each resolves to one address whose Addr is the socket's path ("@name"
// for abstract names, as package net spells them) and whose network,
// read with resolver.Network, is "unix". Importing it registers both
// schemes.
package unix
