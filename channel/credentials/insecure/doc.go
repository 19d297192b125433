// Package insecure provides transport credentials that leave connections unencrypted and unauthenticated.
package insecure
