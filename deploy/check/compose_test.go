package check

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"

	"github.com/gemella/gemella/deploy/check/devsecrets"
)

const composeDir = "../compose"

// loadCompose loads compose.yaml as Docker Compose v2 does, validating it
// against the Compose specification, from a copy beside the files
// gemella-secrets writes (the real secrets folder is git-ignored).
func loadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"compose.yaml", ".env"} {
		data, err := os.ReadFile(filepath.Join(composeDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := devsecrets.Write(filepath.Join(dir, "secrets"), devsecrets.Compose); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithEnvFiles(), cli.WithDotEnv, cli.WithProfiles(profiles))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml (profiles %v): %v", profiles, err)
	}
	for name, s := range project.Secrets {
		if _, err := os.Stat(s.File); err != nil {
			t.Errorf("secret %s: %s is not a file gemella-secrets writes", name, s.File)
		}
	}
	return project
}

func TestComposeFileFollowsTheSpecification(t *testing.T) {
	project := loadCompose(t)
	if project.Name != "gemella" {
		t.Errorf("project name %q, want gemella (COMPOSE_PROJECT_NAME in .env)", project.Name)
	}
	var want []string
	for _, s := range []string{"mongo1", "mongo2", "mongo3", "mongo-init", "nats1", "nats2", "nats3", "catalog", "twinning", "discussion", "notification", "gateway"} {
		want = append(want, s)
	}
	got := project.ServiceNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("services without a profile %v, want %v", got, want)
	}
}

// Debian's docker-compose (1.29) knows the version 3 keys only: a
// top-level name: (or include:, models:) makes `docker-compose config` fail.
func TestComposeFileHasOnlyTopLevelKeysDebiansComposeKnows(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(composeDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	known := []string{"services", "volumes", "networks", "secrets", "configs"}
	for key := range top {
		if !slices.Contains(known, key) && !strings.HasPrefix(key, "x-") {
			t.Errorf("top-level %q: Debian's docker-compose refuses it", key)
		}
	}
}

func TestComposeConnectionsAreTLS(t *testing.T) {
	project := loadCompose(t)
	// secretFile checks that a variable names a secret the service mounts.
	secretFile := func(t *testing.T, s types.ServiceConfig, name string) {
		t.Helper()
		v := s.Environment[name]
		if v == nil {
			t.Errorf("%s: %s is not set", s.Name, name)
			return
		}
		secret, ok := strings.CutPrefix(*v, "/run/secrets/")
		if !ok || !slices.ContainsFunc(s.Secrets, func(r types.ServiceSecretConfig) bool { return r.Source == secret }) {
			t.Errorf("%s: %s = %q is not a secret the service mounts", s.Name, name, *v)
		}
	}
	own := map[string]string{"catalog": "GEMELLA_CATALOG_", "twinning": "GEMELLA_TWINNING_", "discussion": "GEMELLA_DISCUSSION_", "notification": "GEMELLA_NOTIFICATION_"}
	for _, name := range []string{"catalog", "twinning", "discussion", "notification", "gateway"} {
		t.Run(name, func(t *testing.T) {
			s, err := project.GetService(name)
			if err != nil {
				t.Fatal(err)
			}
			if prefix, ok := own[name]; ok {
				secretFile(t, s, prefix+"GRPC_TLS_CERT_FILE")
				secretFile(t, s, prefix+"GRPC_TLS_KEY_FILE")
				secretFile(t, s, prefix+"GRPC_TLS_CLIENT_CA_FILE")
				if uri := s.Environment[prefix+"MONGO_URI"]; uri == nil || !strings.Contains(*uri, "tls=true") || !strings.Contains(*uri, "tlsCAFile=/run/secrets/ca_crt") {
					t.Errorf("%sMONGO_URI does not ask for TLS with the CA", prefix)
				}
			}
			secretFile(t, s, "GEMELLA_GRPC_CLIENT_TLS_CA_FILE")
			if name == "gateway" || name == "twinning" || name == "notification" {
				// They call services, which require client certificates.
				secretFile(t, s, "GEMELLA_GRPC_CLIENT_TLS_CERT_FILE")
				secretFile(t, s, "GEMELLA_GRPC_CLIENT_TLS_KEY_FILE")
			}
			// NATS verifies client certificates.
			secretFile(t, s, "GEMELLA_NATS_TLS_CA_FILE")
			secretFile(t, s, "GEMELLA_NATS_TLS_CERT_FILE")
			secretFile(t, s, "GEMELLA_NATS_TLS_KEY_FILE")
			if s.Build == nil || s.Build.Dockerfile != "deploy/Dockerfile" {
				t.Fatalf("not built from deploy/Dockerfile: %+v", s.Build)
			}
			wantTarget := "service"
			if name == "gateway" {
				wantTarget = "gateway"
			}
			if s.Build.Target != wantTarget {
				t.Errorf("build target %q, want %q", s.Build.Target, wantTarget)
			}
		})
	}
	for _, name := range []string{"nats1", "nats2", "nats3", "mongo1", "mongo2", "mongo3"} {
		s, err := project.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		cmd := strings.Join(s.Command, " ")
		if !strings.Contains(cmd, "--tlsverify") && !strings.Contains(cmd, "--tlsMode requireTLS") {
			t.Errorf("%s does not require TLS: %s", name, cmd)
		}
	}
}

func TestComposeHasAMongoDBReplicaSetForTests(t *testing.T) {
	project := loadCompose(t, "mongo-test")
	mongo, err := project.GetService("test-mongo")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(mongo.Profiles, "mongo-test") || !strings.HasPrefix(mongo.Image, "mongo:7") {
		t.Errorf("test-mongo: profiles %v image %s, want mongo:7 in profile mongo-test", mongo.Profiles, mongo.Image)
	}
	if !strings.Contains(strings.Join(mongo.Command, " "), "--replSet rs-test") {
		t.Errorf("test-mongo is not a replica set member: %v", mongo.Command)
	}
	if len(mongo.Ports) != 1 || mongo.Ports[0].HostIP != "127.0.0.1" || mongo.Ports[0].Published != "27017" {
		t.Errorf("test-mongo ports %+v, want 127.0.0.1:27017 only", mongo.Ports)
	}
	initSvc, err := project.GetService("test-mongo-init")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := initSvc.DependsOn["test-mongo"]; !ok || !strings.Contains(strings.Join(initSvc.Entrypoint, " "), "rs.initiate(") {
		t.Error("test-mongo-init does not initiate the test replica set after test-mongo starts")
	}
	// And the default stack does not start them.
	if _, err := loadCompose(t).GetService("test-mongo"); err == nil {
		t.Error("test-mongo runs without the mongo-test profile")
	}
}
