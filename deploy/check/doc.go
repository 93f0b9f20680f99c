// Package check holds the tests of the deployment files: the Compose file
// against the Compose specification (compose-go's loader, with its
// validation), every Kubernetes manifest decoded strictly into the
// k8s.io/api types and held to the production rules (probes, resources,
// disruption budgets, anti-affinity, Secrets, TLS, network policies, the
// MongoDB replica set and the NATS cluster), and the Dockerfile and its
// .dockerignore. They read files only: no cluster, no Docker engine.
// `make check-deploy` also runs Debian's docker-compose over the Compose
// file.
package check
