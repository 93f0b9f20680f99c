// Package authz checks, on the whole devstack, that every service
// authorizes every call itself: its test calls each mutating RPC of the
// catalog, twinning and discussion services as each kind of caller and
// asserts who is allowed and who is refused (authz_test.go). A new RPC
// without a row in its table fails the test.
package authz
