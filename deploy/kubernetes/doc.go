// Package kubernetes holds the manifests that run tailgate as N shards of
// one plan in a Kubernetes Indexed Job, then merge and judge their results.
// It has no code: its test decodes the manifests into the Kubernetes API
// types and checks that they agree with each other.
package kubernetes
