package check

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gemella/gemella/deploy/check/devsecrets"
)

const namespace = "gemella"

// service is a Gemella gRPC service as the manifests must run it.
type service struct {
	app        string
	kind       string
	prefix     string // of its own variables
	grpcPort   int32
	healthPort int32
	addrVar    string   // the variable its clients dial it by
	callers    []string // the only apps that may reach its gRPC port
}

var services = []service{
	{"practice-catalog", "StatefulSet", "GEMELLA_CATALOG_", 9091, 9291, "GEMELLA_CATALOG_ADDR", []string{"gateway", "twinning", "notification"}},
	{"twinning", "Deployment", "GEMELLA_TWINNING_", 9092, 9292, "GEMELLA_TWINNING_ADDR", []string{"gateway", "notification"}},
	{"discussion", "Deployment", "GEMELLA_DISCUSSION_", 9093, 9293, "GEMELLA_DISCUSSION_ADDR", []string{"gateway", "notification"}},
	{"notification", "Deployment", "GEMELLA_NOTIFICATION_", 9094, 9294, "GEMELLA_NOTIFICATION_ADDR", []string{"gateway"}},
}

// workload is a Deployment, StatefulSet or Job with its pod template.
type workload struct {
	manifest
	replicas int32
	pod      corev1.PodTemplateSpec
	claims   []corev1.PersistentVolumeClaim
}

// cluster is everything the manifests declare, by kind and name.
type cluster struct {
	kz         kustomization
	workloads  map[string]workload
	services   map[string]*corev1.Service
	configMaps map[string]map[string]string // inline data; generated ones have keys only
	secrets    map[string]map[string]bool   // generated: name → keys
	pdbs       []*policyv1.PodDisruptionBudget
	policies   []*networkingv1.NetworkPolicy
}

func load(t *testing.T) cluster {
	t.Helper()
	kz := loadKustomization(t)
	c := cluster{kz: kz, workloads: map[string]workload{}, services: map[string]*corev1.Service{},
		configMaps: map[string]map[string]string{}, secrets: map[string]map[string]bool{}}
	for _, m := range loadManifests(t, kz) {
		switch o := m.obj.(type) {
		case *appsv1.Deployment:
			c.workloads[m.name] = workload{manifest: m, replicas: deref(o.Spec.Replicas, 1), pod: o.Spec.Template}
		case *appsv1.StatefulSet:
			c.workloads[m.name] = workload{manifest: m, replicas: deref(o.Spec.Replicas, 1), pod: o.Spec.Template, claims: o.Spec.VolumeClaimTemplates}
		case *batchv1.Job:
			c.workloads[m.name] = workload{manifest: m, replicas: 1, pod: o.Spec.Template}
		case *corev1.Service:
			c.services[m.name] = o
		case *corev1.ConfigMap:
			c.configMaps[m.name] = o.Data
		case *policyv1.PodDisruptionBudget:
			c.pdbs = append(c.pdbs, o)
		case *networkingv1.NetworkPolicy:
			c.policies = append(c.policies, o)
		}
	}
	for _, g := range kz.ConfigMapGenerator {
		data := map[string]string{}
		for k := range g.keys() {
			data[k] = ""
		}
		c.configMaps[g.Name] = data
	}
	for _, g := range kz.SecretGenerator {
		keys := map[string]bool{}
		for k := range g.keys() {
			keys[k] = true
		}
		c.secrets[g.Name] = keys
	}
	return c
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func (c cluster) workload(t *testing.T, name string) workload {
	t.Helper()
	w, ok := c.workloads[name]
	if !ok {
		t.Fatalf("no workload %q", name)
	}
	return w
}

// env is a container's environment as it starts: the ConfigMaps of
// envFrom, then env (values only; references are marked).
func (c cluster) env(t *testing.T, ctr corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range ctr.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Fatalf("container %s: envFrom other than a ConfigMap", ctr.Name)
		}
		data, ok := c.configMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Fatalf("container %s: envFrom ConfigMap %q is not declared", ctr.Name, from.ConfigMapRef.Name)
		}
		for k, v := range data {
			env[k] = v
		}
	}
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		default:
			env[e.Name] = "ref"
		}
	}
	return env
}

// mountOf is the volume that holds path in the container, and the path
// inside it.
func mountOf(pod corev1.PodSpec, ctr corev1.Container, path string) (corev1.Volume, string, bool) {
	for _, m := range ctr.VolumeMounts {
		if path == m.MountPath || strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			for _, v := range pod.Volumes {
				if v.Name == m.Name {
					return v, strings.TrimPrefix(strings.TrimPrefix(path, m.MountPath), "/"), true
				}
			}
			return corev1.Volume{Name: m.Name}, strings.TrimPrefix(strings.TrimPrefix(path, m.MountPath), "/"), true
		}
	}
	return corev1.Volume{}, "", false
}

func mainContainer(t *testing.T, w workload) corev1.Container {
	t.Helper()
	for _, ctr := range w.pod.Spec.Containers {
		if ctr.Name == w.name {
			return ctr
		}
	}
	t.Fatalf("%s: no container named %s", w, w.name)
	return corev1.Container{}
}

func TestManifestsDecodeStrictlyIntoTheKubernetesTypes(t *testing.T) {
	c := load(t)
	if c.kz.Namespace != namespace {
		t.Errorf("kustomization namespace %q, want %q", c.kz.Namespace, namespace)
	}
	// Every manifest in the folder is applied, and every one applied exists.
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var present []string
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" {
			present = append(present, base)
		}
	}
	listed := slices.Clone(c.kz.Resources)
	slices.Sort(listed)
	if !slices.Equal(present, listed) {
		t.Errorf("manifests in deploy/k8s %v, listed in kustomization.yaml %v", present, listed)
	}
	// The decoding does refuse what the types do not have.
	bad := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: x, readinesProbe: {}}]\n"
	if err := decodeStrict([]byte(bad), &appsv1.Deployment{}); err == nil || !strings.Contains(err.Error(), "readinesProbe") {
		t.Errorf("a misspelt field decoded without error (%v)", err)
	}
}

func TestEveryContainerHasProbesAndResources(t *testing.T) {
	c := load(t)
	for _, name := range sortedKeys(c.workloads) {
		w := c.workloads[name]
		t.Run(name, func(t *testing.T) {
			for _, ctr := range append(slices.Clone(w.pod.Spec.InitContainers), w.pod.Spec.Containers...) {
				r := ctr.Resources
				if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
					t.Errorf("container %s: wants CPU and memory requests and a memory limit, has %v / %v", ctr.Name, r.Requests, r.Limits)
				}
			}
			if w.kind == "Job" {
				return // runs to completion: nothing to probe
			}
			for _, ctr := range w.pod.Spec.Containers {
				for probe, p := range map[string]*corev1.Probe{"startup": ctr.StartupProbe, "readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe} {
					if p == nil {
						t.Errorf("container %s has no %s probe", ctr.Name, probe)
					}
				}
			}
		})
	}
}

func TestServicesAreProbedOnTheirHealthPort(t *testing.T) {
	c := load(t)
	for _, s := range services {
		t.Run(s.app, func(t *testing.T) {
			w := c.workload(t, s.app)
			if w.kind != s.kind {
				t.Fatalf("%s is a %s, want a %s", s.app, w.kind, s.kind)
			}
			ctr := mainContainer(t, w)
			env := c.env(t, ctr)
			if got, want := env[s.prefix+"GRPC_HEALTH_ADDR"], fmt.Sprintf("0.0.0.0:%d", s.healthPort); got != want {
				t.Errorf("%sGRPC_HEALTH_ADDR = %q, want %q", s.prefix, got, want)
			}
			for probe, want := range map[string]struct {
				p       *corev1.Probe
				service string
			}{
				"startup":   {ctr.StartupProbe, "liveness"},
				"liveness":  {ctr.LivenessProbe, "liveness"},
				"readiness": {ctr.ReadinessProbe, ""},
			} {
				if want.p == nil || want.p.GRPC == nil {
					t.Errorf("%s probe is not a gRPC health check", probe)
					continue
				}
				if want.p.GRPC.Port != s.healthPort {
					t.Errorf("%s probe asks port %d, want the health port %d", probe, want.p.GRPC.Port, s.healthPort)
				}
				if got := deref2(want.p.GRPC.Service); got != want.service {
					t.Errorf("%s probe asks for service %q, want %q", probe, got, want.service)
				}
			}
		})
	}
	t.Run("gateway", func(t *testing.T) {
		ctr := mainContainer(t, c.workload(t, "gateway"))
		for probe, want := range map[string]struct {
			p    *corev1.Probe
			path string
		}{"startup": {ctr.StartupProbe, "/healthz"}, "liveness": {ctr.LivenessProbe, "/healthz"}, "readiness": {ctr.ReadinessProbe, "/readyz"}} {
			if want.p == nil || want.p.HTTPGet == nil || want.p.HTTPGet.Path != want.path {
				t.Errorf("%s probe %+v, want GET %s", probe, want.p, want.path)
			}
		}
	})
}

func deref2(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestWorkloadsSurviveTheLossOfANode(t *testing.T) {
	c := load(t)
	minReplicas := map[string]int32{"mongo": 3, "nats": 3}
	required := map[string]bool{"mongo": true, "nats": true} // quorum: one per node, always
	for _, name := range sortedKeys(c.workloads) {
		w := c.workloads[name]
		if w.kind == "Job" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			want := max(minReplicas[name], 2)
			if w.replicas < want {
				t.Errorf("%d replicas, want at least %d", w.replicas, want)
			}
			podLabels := labels.Set(w.pod.Labels)
			var budget *policyv1.PodDisruptionBudget
			for _, p := range c.pdbs {
				sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
				if err != nil {
					t.Fatal(err)
				}
				if sel.Matches(podLabels) {
					budget = p
				}
			}
			if budget == nil {
				t.Fatal("no PodDisruptionBudget selects its pods")
			}
			if budget.Spec.MaxUnavailable == nil || budget.Spec.MaxUnavailable.IntValue() != 1 {
				t.Errorf("PodDisruptionBudget %s: maxUnavailable %v, want 1", budget.Name, budget.Spec.MaxUnavailable)
			}
			aff := w.pod.Spec.Affinity
			if aff == nil || aff.PodAntiAffinity == nil {
				t.Fatal("no pod anti-affinity")
			}
			var terms []corev1.PodAffinityTerm
			terms = append(terms, aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
			if !required[name] {
				for _, wt := range aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
					terms = append(terms, wt.PodAffinityTerm)
				}
			} else if len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
				t.Errorf("a quorum member needs required anti-affinity, not preferred")
			}
			spread := false
			for _, term := range terms {
				sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
				if err != nil {
					t.Fatal(err)
				}
				if term.TopologyKey == "kubernetes.io/hostname" && sel.Matches(podLabels) {
					spread = true
				}
			}
			if !spread {
				t.Error("anti-affinity does not keep its own replicas on different nodes (kubernetes.io/hostname)")
			}
		})
	}
}

func TestClientsDialTheHeadlessServices(t *testing.T) {
	c := load(t)
	shared := c.configMaps["gemella"]
	for _, s := range services {
		t.Run(s.app, func(t *testing.T) {
			headless := s.app + "-headless"
			want := fmt.Sprintf("dns:///%s.%s.svc.cluster.local:%d", headless, namespace, s.grpcPort)
			if got := shared[s.addrVar]; got != want {
				t.Errorf("%s = %q, want %q", s.addrVar, got, want)
			}
			svc, ok := c.services[headless]
			if !ok {
				t.Fatalf("no Service %s", headless)
			}
			if svc.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("Service %s is not headless (clusterIP %q)", headless, svc.Spec.ClusterIP)
			}
			if svc.Spec.PublishNotReadyAddresses {
				t.Errorf("Service %s publishes replicas that are not ready", headless)
			}
			w := c.workload(t, s.app)
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.pod.Labels)) || len(svc.Spec.Selector) == 0 {
				t.Errorf("Service %s selector %v does not select %s's pods", headless, svc.Spec.Selector, s.app)
			}
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != s.grpcPort {
				t.Errorf("Service %s ports %+v, want %d alone", headless, svc.Spec.Ports, s.grpcPort)
			}
			if w.kind == "StatefulSet" && w.manifest.obj.(*appsv1.StatefulSet).Spec.ServiceName != headless {
				t.Errorf("StatefulSet %s governed by %q, want %s", s.app, w.manifest.obj.(*appsv1.StatefulSet).Spec.ServiceName, headless)
			}
			env := c.env(t, mainContainer(t, w))
			if got := env[s.prefix+"GRPC_ADDR"]; got != fmt.Sprintf("0.0.0.0:%d", s.grpcPort) {
				t.Errorf("%sGRPC_ADDR = %q", s.prefix, got)
			}
		})
	}
}

func TestKeysAreSecretsEveryReplicaShares(t *testing.T) {
	c := load(t)
	generated := map[string]bool{}
	for _, f := range devsecrets.Files(devsecrets.Kubernetes) {
		generated[f] = true
	}
	for _, g := range append(slices.Clone(c.kz.SecretGenerator), c.kz.ConfigMapGenerator...) {
		for key, path := range g.keys() {
			if !strings.HasPrefix(path, "secrets/") || !generated[strings.TrimPrefix(path, "secrets/")] {
				t.Errorf("generator %s key %s: %q is not a file gemella-secrets writes in secrets/", g.Name, key, path)
			}
		}
	}

	// Every Secret and ConfigMap a pod uses is declared, with the keys used.
	for _, name := range sortedKeys(c.workloads) {
		w := c.workloads[name]
		for _, v := range w.pod.Spec.Volumes {
			switch {
			case v.Secret != nil:
				if _, ok := c.secrets[v.Secret.SecretName]; !ok {
					t.Errorf("%s: volume %s from Secret %q, which nothing generates", w, v.Name, v.Secret.SecretName)
				}
			case v.ConfigMap != nil:
				if _, ok := c.configMaps[v.ConfigMap.Name]; !ok {
					t.Errorf("%s: volume %s from ConfigMap %q, which is not declared", w, v.Name, v.ConfigMap.Name)
				}
			}
		}
		for _, ctr := range append(slices.Clone(w.pod.Spec.InitContainers), w.pod.Spec.Containers...) {
			for _, e := range ctr.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				if !c.secrets[ref.Name][ref.Key] {
					t.Errorf("%s container %s: %s from Secret %s key %s, which is not generated", w, ctr.Name, e.Name, ref.Name, ref.Key)
				}
			}
		}
	}

	// The signing key reaches the discussion service as a file from its Secret.
	disc := c.workload(t, "discussion")
	ctr := mainContainer(t, disc)
	keyFile := c.env(t, ctr)["GEMELLA_AUTH_KEY_FILE"]
	if vol, key, ok := mountOf(disc.pod.Spec, ctr, keyFile); !ok || vol.Secret == nil || vol.Secret.SecretName != "gemella-session-key" || !c.secrets["gemella-session-key"][key] {
		t.Errorf("GEMELLA_AUTH_KEY_FILE %q is not a key of the Secret gemella-session-key mounted in discussion", keyFile)
	}
	// Every gateway replica signs forms with the same CSRF key.
	if got := c.env(t, mainContainer(t, c.workload(t, "gateway")))["GEMELLA_PORTAL_CSRF_KEY"]; got != "secret:gemella-csrf-key/csrf-key" {
		t.Errorf("gateway GEMELLA_PORTAL_CSRF_KEY is %q, want it from the Secret gemella-csrf-key", got)
	}
}

func TestEveryConnectionIsTLS(t *testing.T) {
	c := load(t)
	// fileFromSecret checks that a variable names a file of a Secret
	// mounted in the container.
	fileFromSecret := func(t *testing.T, w workload, ctr corev1.Container, env map[string]string, name, secret string) {
		t.Helper()
		path := env[name]
		if path == "" {
			t.Errorf("%s is not set", name)
			return
		}
		vol, key, ok := mountOf(w.pod.Spec, ctr, path)
		if !ok || vol.Secret == nil || vol.Secret.SecretName != secret || !c.secrets[secret][key] {
			t.Errorf("%s = %q is not a key of the Secret %s mounted in the container", name, path, secret)
		}
	}
	clients := append([]string{"gateway"}, "practice-catalog", "twinning", "discussion", "notification")
	for _, app := range clients {
		t.Run(app, func(t *testing.T) {
			w := c.workload(t, app)
			ctr := mainContainer(t, w)
			env := c.env(t, ctr)
			secret := "gemella-tls-" + app
			for _, s := range services {
				if s.app == app {
					fileFromSecret(t, w, ctr, env, s.prefix+"GRPC_TLS_CERT_FILE", secret)
					fileFromSecret(t, w, ctr, env, s.prefix+"GRPC_TLS_KEY_FILE", secret)
					fileFromSecret(t, w, ctr, env, s.prefix+"GRPC_TLS_CLIENT_CA_FILE", secret)
					uri := env[s.prefix+"MONGO_URI"]
					if !strings.Contains(uri, "tls=true") || !strings.Contains(uri, "tlsCAFile=/tls/ca.crt") {
						t.Errorf("%sMONGO_URI %q does not ask for TLS with the CA file", s.prefix, uri)
					}
					if !strings.HasPrefix(env["MONGO_PASSWORD"], "secret:gemella-mongo/") {
						t.Errorf("the MongoDB password is %q, want it from the Secret gemella-mongo", env["MONGO_PASSWORD"])
					}
				}
			}
			fileFromSecret(t, w, ctr, env, "GEMELLA_GRPC_CLIENT_TLS_CA_FILE", secret)
			fileFromSecret(t, w, ctr, env, "GEMELLA_GRPC_CLIENT_TLS_CERT_FILE", secret)
			fileFromSecret(t, w, ctr, env, "GEMELLA_GRPC_CLIENT_TLS_KEY_FILE", secret)
			fileFromSecret(t, w, ctr, env, "GEMELLA_NATS_TLS_CA_FILE", secret)
			if env["GEMELLA_NATS_USER"] != app || env["GEMELLA_NATS_PASSWORD"] != "secret:gemella-nats/"+app+"-password" {
				t.Errorf("NATS user %q password %q, want %s with its password from gemella-nats", env["GEMELLA_NATS_USER"], env["GEMELLA_NATS_PASSWORD"], app)
			}
		})
	}
	t.Run("nats", func(t *testing.T) {
		conf := c.configMaps["nats-config"]["nats.conf"]
		for _, want := range []string{"tls {", "cert_file: /tls/tls.crt", "verify: true", "authorization {"} {
			if !strings.Contains(conf, want) {
				t.Errorf("nats.conf lacks %q", want)
			}
		}
	})
	t.Run("mongo", func(t *testing.T) {
		args := strings.Join(mainContainer(t, c.workload(t, "mongo")).Args, " ")
		for _, want := range []string{"--tlsMode requireTLS", "--tlsCAFile /tls/ca.crt", "--keyFile"} {
			if !strings.Contains(args, want) {
				t.Errorf("mongod arguments lack %q: %s", want, args)
			}
		}
	})
}

func TestNetworkPoliciesLetInOnlyTheCallers(t *testing.T) {
	c := load(t)
	denyAll := false
	for _, p := range c.policies {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && len(p.Spec.Ingress) == 0 {
			denyAll = true
		}
	}
	if !denyAll {
		t.Fatal("no NetworkPolicy refuses by default every connection into the namespace")
	}
	check := func(t *testing.T, app string, port int32, want []string) {
		t.Helper()
		got, open := c.admitted(t, app, port)
		if open {
			t.Errorf("port %d of %s is open to every pod", port, app)
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("port %d of %s admits %v, want %v", port, app, got, want)
		}
	}
	for _, s := range services {
		t.Run(s.app, func(t *testing.T) { check(t, s.app, s.grpcPort, s.callers) })
	}
	t.Run("nats", func(t *testing.T) {
		check(t, "nats", 4222, []string{"practice-catalog", "twinning", "discussion", "notification", "gateway"})
		check(t, "nats", 6222, []string{"nats"})
	})
	t.Run("mongo", func(t *testing.T) {
		check(t, "mongo", 27017, []string{"practice-catalog", "twinning", "discussion", "notification", "mongo", "mongo-init"})
	})
}

// admitted lists the apps whose pods the policies let reach port of app's
// pods, and whether some rule lets every pod in.
func (c cluster) admitted(t *testing.T, app string, port int32) ([]string, bool) {
	t.Helper()
	podLabels := labels.Set(c.workload(t, app).pod.Labels)
	var apps []string
	open := false
	for _, p := range c.policies {
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(podLabels) {
			continue
		}
		for _, rule := range p.Spec.Ingress {
			if !rulePorts(rule, port) {
				continue
			}
			if len(rule.From) == 0 {
				open = true
			}
			for _, peer := range rule.From {
				switch {
				case peer.PodSelector != nil && peer.NamespaceSelector == nil && peer.IPBlock == nil:
					name := peer.PodSelector.MatchLabels["app"]
					if name == "" || len(peer.PodSelector.MatchLabels) != 1 {
						t.Errorf("policy %s: a peer selector %v that names no single app", p.Name, peer.PodSelector)
					}
					apps = append(apps, name)
				default:
					t.Errorf("policy %s lets in from outside the namespace's apps on port %d: %+v", p.Name, port, peer)
				}
			}
		}
	}
	return apps, open
}

func rulePorts(rule networkingv1.NetworkPolicyIngressRule, port int32) bool {
	if len(rule.Ports) == 0 {
		return true
	}
	for _, p := range rule.Ports {
		if p.Port == nil || (p.Port.IntValue() == int(port)) {
			return true
		}
	}
	return false
}

func TestMongoDBIsAReplicaSetOfThree(t *testing.T) {
	c := load(t)
	w := c.workload(t, "mongo")
	if w.kind != "StatefulSet" || w.replicas != 3 {
		t.Fatalf("mongo is a %s of %d, want a StatefulSet of 3", w.kind, w.replicas)
	}
	ctr := mainContainer(t, w)
	args := strings.Join(ctr.Args, " ")
	if !strings.Contains(args, "--replSet rs0") {
		t.Errorf("mongod is not started as member of rs0: %s", args)
	}
	if !mountedClaim(w, ctr, "/data/db") {
		t.Error("/data/db is not on a volume claim of the StatefulSet")
	}
	if svc, ok := c.services["mongo"]; !ok || svc.Spec.ClusterIP != corev1.ClusterIPNone || w.obj.(*appsv1.StatefulSet).Spec.ServiceName != "mongo" {
		t.Error("the members are not named through a headless Service mongo")
	}
	members := []string{}
	for i := range 3 {
		members = append(members, fmt.Sprintf("mongo-%d.mongo.%s.svc.cluster.local:27017", i, namespace))
	}
	job := c.workload(t, "mongo-init")
	if job.kind != "Job" {
		t.Fatalf("mongo-init is a %s, want a Job", job.kind)
	}
	script := strings.Join(mainContainer(t, job).Command, "\n")
	if !strings.Contains(script, "rs.initiate(") || !strings.Contains(script, `"rs0"`) {
		t.Error("mongo-init does not initiate the replica set rs0")
	}
	for _, m := range members {
		if !strings.Contains(script, `host: "`+m+`"`) {
			t.Errorf("rs.initiate does not name member %s", m)
		}
	}
	// The services connect to the set, all three members named.
	for _, s := range services {
		uri := c.env(t, mainContainer(t, c.workload(t, s.app)))[s.prefix+"MONGO_URI"]
		if !strings.Contains(uri, "@"+strings.Join(members, ",")+"/") || !strings.Contains(uri, "replicaSet=rs0") {
			t.Errorf("%sMONGO_URI %q does not name the replica set's members", s.prefix, uri)
		}
	}
}

func TestNATSIsAClusterOfThreeWithJetStreamOnDisk(t *testing.T) {
	c := load(t)
	w := c.workload(t, "nats")
	if w.kind != "StatefulSet" || w.replicas != 3 {
		t.Fatalf("nats is a %s of %d, want a StatefulSet of 3", w.kind, w.replicas)
	}
	conf := c.configMaps["nats-config"]["nats.conf"]
	storeDir := ""
	for _, line := range strings.Split(conf, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "store_dir:"); ok {
			storeDir = strings.TrimSpace(v)
		}
	}
	if !strings.Contains(conf, "jetstream {") || storeDir == "" {
		t.Fatal("nats.conf has no JetStream file storage (jetstream { store_dir })")
	}
	if !mountedClaim(w, mainContainer(t, w), storeDir) {
		t.Errorf("JetStream's store_dir %s is not on a volume claim of the StatefulSet", storeDir)
	}
	shared := c.configMaps["gemella"]
	if shared["GEMELLA_NATS_STREAM_REPLICAS"] != "3" {
		t.Errorf("GEMELLA_NATS_STREAM_REPLICAS = %q, want 3", shared["GEMELLA_NATS_STREAM_REPLICAS"])
	}
	for i := range 3 {
		node := fmt.Sprintf("nats-%d.nats-headless.%s.svc.cluster.local", i, namespace)
		if !strings.Contains(conf, "nats://"+node+":6222") {
			t.Errorf("the cluster's routes do not name %s", node)
		}
		if !strings.Contains(shared["GEMELLA_NATS_URL"], "nats://"+node+":4222") {
			t.Errorf("GEMELLA_NATS_URL does not name %s", node)
		}
	}
}

func TestTheCatalogSearchIndexHasItsOwnVolume(t *testing.T) {
	c := load(t)
	w := c.workload(t, "practice-catalog")
	ctr := mainContainer(t, w)
	dir := c.env(t, ctr)["GEMELLA_CATALOG_SEARCH_DIR"]
	if dir == "" {
		t.Fatal("GEMELLA_CATALOG_SEARCH_DIR is not set: the index would be rebuilt in memory at every start")
	}
	if !mountedClaim(w, ctr, dir) {
		t.Errorf("GEMELLA_CATALOG_SEARCH_DIR %s is not on a volume claim of its own", dir)
	}
	// Ready only when the index is current: the catalogue reports
	// NOT_SERVING on "" until then, and readiness asks "".
	if p := ctr.ReadinessProbe; p == nil || p.GRPC == nil || deref2(p.GRPC.Service) != "" {
		t.Error("readiness does not ask the catalogue's overall health")
	}
}

// mountedClaim reports whether path is on one of the StatefulSet's volume
// claim templates.
func mountedClaim(w workload, ctr corev1.Container, path string) bool {
	vol, _, ok := mountOf(w.pod.Spec, ctr, path)
	if !ok {
		return false
	}
	for _, claim := range w.claims {
		if claim.Name == vol.Name {
			return true
		}
	}
	return false
}
