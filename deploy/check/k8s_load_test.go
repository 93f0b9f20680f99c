package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const k8sDir = "../k8s"

// kinds are the objects the manifests may hold, each with its one API
// version and a constructor of its typed value.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"Namespace":           {"v1", func() any { return &corev1.Namespace{} }},
	"ConfigMap":           {"v1", func() any { return &corev1.ConfigMap{} }},
	"Service":             {"v1", func() any { return &corev1.Service{} }},
	"Deployment":          {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"StatefulSet":         {"apps/v1", func() any { return &appsv1.StatefulSet{} }},
	"Job":                 {"batch/v1", func() any { return &batchv1.Job{} }},
	"PodDisruptionBudget": {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"NetworkPolicy":       {"networking.k8s.io/v1", func() any { return &networkingv1.NetworkPolicy{} }},
}

// manifest is one decoded object and where it came from.
type manifest struct {
	file string
	kind string
	name string
	obj  any
}

func (m manifest) String() string { return fmt.Sprintf("%s %s (%s)", m.kind, m.name, m.file) }

// decodeStrict decodes one YAML document into obj, refusing fields obj's
// type does not have: a misspelt or misplaced field fails instead of
// being dropped, as kubectl apply would drop it with a warning.
func decodeStrict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one object in the document")
	}
	return nil
}

var documentSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// loadManifests decodes every document of every file listed in the
// kustomization, strictly, into its k8s.io/api type.
func loadManifests(t *testing.T, kz kustomization) []manifest {
	t.Helper()
	var out []manifest
	for _, file := range kz.Resources {
		data, err := os.ReadFile(filepath.Join(k8sDir, file))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documentSeparator.Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d: %v", file, i+1, err)
			}
			k, ok := kinds[tm.Kind]
			if !ok {
				t.Fatalf("%s document %d: kind %q is not one the checks know", file, i+1, tm.Kind)
			}
			if tm.APIVersion != k.apiVersion {
				t.Fatalf("%s document %d: %s has apiVersion %q, want %q", file, i+1, tm.Kind, tm.APIVersion, k.apiVersion)
			}
			obj := k.new()
			if err := decodeStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", file, i+1, tm.Kind, err)
			}
			name := obj.(metav1.Object).GetName()
			if name == "" {
				t.Fatalf("%s document %d: %s without a name", file, i+1, tm.Kind)
			}
			out = append(out, manifest{file: file, kind: tm.Kind, name: name, obj: obj})
		}
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// kustomization is the part of kustomization.yaml the manifests use;
// decoded strictly too, so a field kustomize does not know fails here.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images"`
	ConfigMapGenerator []generator `json:"configMapGenerator"`
	SecretGenerator    []generator `json:"secretGenerator"`
}

type generator struct {
	Name     string   `json:"name"`
	Type     string   `json:"type,omitempty"`
	Files    []string `json:"files,omitempty"`
	Literals []string `json:"literals,omitempty"`
}

// keys are the keys a generator gives its object ("key=path" or a path).
func (g generator) keys() map[string]string {
	keys := map[string]string{}
	for _, f := range g.Files {
		key, path, ok := strings.Cut(f, "=")
		if !ok {
			key, path = filepath.Base(f), f
		}
		keys[key] = path
	}
	for _, l := range g.Literals {
		key, _, _ := strings.Cut(l, "=")
		keys[key] = ""
	}
	return keys
}

func loadKustomization(t *testing.T) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kz kustomization
	if err := decodeStrict(data, &kz); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return kz
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
