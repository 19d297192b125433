// Package authz is the auth example's server side: interceptors that
// authenticate each call by a bearer token or a verified client
// certificate and authorize it by a rule per method, and Identity, which
// tells a handler who called.
package authz
