// Package replicatest runs services as several replicas on one store and
// one NATS, as a deployment with more than one replica does, and checks
// what replicas must never do to each other: lose an acknowledged write.
// The replicas are separate service instances in one test process, each
// with its own MongoDB client, its own locks and its own NATS connection;
// nothing is shared between them but the store and the broker.
package replicatest
