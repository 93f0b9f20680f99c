package check

import (
	"os"
	"path"
	"slices"
	"strings"
	"testing"
)

// stage is one FROM … AS name of the Dockerfile with its instructions.
type stage struct {
	name         string
	instructions []string // "COPY a b", joined over continuation lines
}

func loadDockerfile(t *testing.T) []stage {
	t.Helper()
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var pending string
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if pending == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, "\\"); ok {
			pending += cont + " "
			continue
		}
		instr := pending + trimmed
		pending = ""
		if strings.HasPrefix(instr, "FROM ") {
			fields := strings.Fields(instr)
			name := ""
			if len(fields) == 4 && strings.EqualFold(fields[2], "AS") {
				name = fields[3]
			}
			stages = append(stages, stage{name: name})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %q before the first FROM", instr)
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, instr)
	}
	return stages
}

func findStage(t *testing.T, stages []stage, name string) stage {
	t.Helper()
	for _, s := range stages {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile has no stage %q", name)
	return stage{}
}

func TestTheGatewayImageCarriesThePortalAssets(t *testing.T) {
	stages := loadDockerfile(t)
	web := findStage(t, stages, "web")
	if !slices.ContainsFunc(web.instructions, func(i string) bool { return strings.HasPrefix(i, "RUN npm ci ") }) {
		t.Error("the web stage does not install the locked packages (npm ci)")
	}
	if !slices.ContainsFunc(web.instructions, func(i string) bool {
		return strings.HasPrefix(i, "COPY ") && strings.Contains(i, "gateway/portal/web/package-lock.json")
	}) {
		t.Error("the web stage does not copy package-lock.json")
	}
	gw := findStage(t, stages, "gateway")
	assets := ""
	for _, i := range gw.instructions {
		if v, ok := strings.CutPrefix(i, "ENV GEMELLA_PORTAL_ASSETS_DIR="); ok {
			assets = v
		}
	}
	if assets == "" {
		t.Fatal("the gateway stage does not set GEMELLA_PORTAL_ASSETS_DIR")
	}
	want := "COPY --from=web /web/node_modules/bootstrap-italia/dist " + path.Join(assets, "bootstrap-italia/dist")
	if !slices.Contains(gw.instructions, want) {
		t.Errorf("the gateway stage lacks %q", want)
	}
	if last := stages[len(stages)-1]; last.name != "service" {
		t.Errorf("the last stage is %q: a build without --target should make a service", last.name)
	}
}

func TestTheImageBuildCopiesEveryModule(t *testing.T) {
	data, err := os.ReadFile("../../go.work")
	if err != nil {
		t.Fatal(err)
	}
	var modules []string
	inUse := false
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "use (":
			inUse = true
		case line == ")":
			inUse = false
		case inUse && line != "":
			modules = append(modules, strings.TrimPrefix(line, "./"))
		}
	}
	if len(modules) == 0 {
		t.Fatal("no module in go.work")
	}
	build := findStage(t, loadDockerfile(t), "build")
	for _, m := range modules {
		want := "COPY " + m + "/go.mod " + m + "/go.sum " + m + "/"
		if !slices.Contains(build.instructions, want) {
			t.Errorf("the build stage does not copy module %s before go mod download (want %q)", m, want)
		}
	}
}

func TestDockerignoreKeepsSecretsAndBulkOut(t *testing.T) {
	data, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	for _, want := range []string{".git", "**/node_modules", ".data", ".bin", "artifacts", "deploy/compose/secrets", "deploy/k8s/secrets"} {
		if !slices.Contains(patterns, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
	for _, p := range patterns {
		if strings.HasPrefix(p, "!") {
			t.Errorf(".dockerignore re-includes %s: check it carries no secret", p)
		}
	}
}
