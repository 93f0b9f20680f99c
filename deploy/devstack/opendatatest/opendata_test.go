package opendatatest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gemella/gemella/deploy/devstack/demo"
	"github.com/gemella/gemella/deploy/devstack/stack"
	"github.com/gemella/gemella/gateway/opendata"
	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
	twinningv1 "github.com/gemella/gemella/proto/gemella/twinning/v1"
	"github.com/gemella/gemella/services/platform/grpcx"
)

func startStack(t *testing.T) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the whole devstack on the embedded FerretDB and NATS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", CatalogAddr: "127.0.0.1:0", TwinningAddr: "127.0.0.1:0", DiscussionAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), LoadDemo: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Stop(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
	})
	return st
}

var client = &http.Client{Timeout: 2 * time.Minute}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func fetch(t *testing.T, url string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

func tableInfo(t *testing.T, name string) *opendata.TableInfo {
	t.Helper()
	for _, info := range opendata.Tables() {
		if info.Name == name {
			return info
		}
	}
	t.Fatalf("no table %s", name)
	return nil
}

// csvColumn is the named column of every data row of a CSV download.
func csvColumn(t *testing.T, body []byte, name string) []string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	i := slices.Index(rows[0], name)
	if i < 0 {
		t.Fatalf("no column %s in %v", name, rows[0])
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[i])
	}
	return out
}

func TestOpenDataOnTheDemoStack(t *testing.T) {
	st := startStack(t)
	base := st.GatewayURL()

	t.Run("practices.csv starts with its header and the Tos.Ca. row", func(t *testing.T) {
		r := fetch(t, base+"/opendata/practices.csv", nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /opendata/practices.csv: %d %s", r.status, r.body)
		}
		// What `curl -s …/opendata/practices.csv | head -2` prints.
		sc := bufio.NewScanner(bytes.NewReader(r.body))
		sc.Buffer(nil, 1<<20)
		var head []string
		for len(head) < 2 && sc.Scan() {
			head = append(head, strings.TrimSuffix(sc.Text(), "\r"))
		}
		if len(head) != 2 {
			t.Fatalf("fewer than two lines: %q", r.body)
		}
		if want := strings.Join(tableInfo(t, "practices").ColumnNames(), ","); head[0] != want {
			t.Errorf("line 1 = %q, want the header %q", head[0], want)
		}
		if !strings.Contains(head[1], ","+demo.TosCaSlug+",Tos.Ca. – Valorizzare le competenze dei cittadini,") {
			t.Errorf("line 2 = %.200q, want the Tos.Ca. row", head[1])
		}
		slugs := csvColumn(t, r.body, "slug")
		_, practices := demo.Counts()
		if len(slugs) != practices || slugs[0] != demo.TosCaSlug {
			t.Errorf("practices.csv lists %v, want the %d demo practices, Tos.Ca. first", slugs, practices)
		}
		if r.header.Get("Link") != `<https://creativecommons.org/licenses/by/4.0/>; rel="license"` || r.header.Get("ETag") == "" || r.header.Get("Last-Modified") == "" {
			t.Errorf("licence, ETag or Last-Modified missing: %v", r.header)
		}
		if again := fetch(t, base+"/opendata/practices.csv", map[string]string{"If-None-Match": r.header.Get("ETag")}); again.status != http.StatusNotModified {
			t.Errorf("a download with its own ETag: %d, want 304", again.status)
		}
	})

	t.Run("every table downloads in both formats", func(t *testing.T) {
		organizations, _ := demo.Counts()
		for _, info := range opendata.Tables() {
			r := fetch(t, base+info.Path(opendata.CSV), nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", info.Path(opendata.CSV), r.status, r.body)
			}
			rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
			if err != nil || !slices.Equal(rows[0], info.ColumnNames()) {
				t.Fatalf("%s: header %v (err %v), want %v", info.Path(opendata.CSV), rows, err, info.ColumnNames())
			}
			j := fetch(t, base+info.Path(opendata.JSONL), nil)
			lines := 0
			sc := bufio.NewScanner(bytes.NewReader(j.body))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var obj map[string]any
				if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
					t.Fatalf("%s line %d: %v", info.Path(opendata.JSONL), lines+1, err)
				}
				lines++
			}
			if j.status != http.StatusOK || lines != len(rows)-1 {
				t.Errorf("%s: %d with %d lines; the CSV has %d rows", info.Path(opendata.JSONL), j.status, lines, len(rows)-1)
			}
			if info.Name == "organizations" && len(rows)-1 != organizations {
				t.Errorf("organizations.csv has %d rows, want the %d demo organisations", len(rows)-1, organizations)
			}
		}
		tosCa := fetch(t, base+"/v1/twinnings/"+demo.TosCaCode, nil)
		var tw struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(tosCa.body, &tw); err != nil || tw.ID == "" {
			t.Fatalf("GET the Tos.Ca. twinning: %d %s", tosCa.status, tosCa.body)
		}
		transfers := fetch(t, base+"/opendata/transfers.csv", nil).body
		twinningIDs := csvColumn(t, transfers, "twinning_id")
		if !slices.Contains(twinningIDs, tw.ID) {
			t.Errorf("transfers.csv has no transfer of the Tos.Ca. twinning %s: %v", tw.ID, twinningIDs)
		}
	})

	t.Run("the catalogue names a dcat:Dataset per table whose distributions answer", func(t *testing.T) {
		r := fetch(t, base+opendata.CatalogPath, nil)
		var cat struct {
			Datasets []struct {
				Type          []string `json:"@type"`
				Identifier    string   `json:"dct:identifier"`
				Distributions []struct {
					AccessURL struct {
						ID string `json:"@id"`
					} `json:"dcat:accessURL"`
					DownloadURL struct {
						ID string `json:"@id"`
					} `json:"dcat:downloadURL"`
				} `json:"dcat:distribution"`
			} `json:"dcat:dataset"`
		}
		if err := json.Unmarshal(r.body, &cat); err != nil {
			t.Fatalf("GET %s: %d, not JSON: %v", opendata.CatalogPath, r.status, err)
		}
		if len(cat.Datasets) != len(opendata.Tables()) {
			t.Errorf("%d datasets, want one per table (%d)", len(cat.Datasets), len(opendata.Tables()))
		}
		for i, ds := range cat.Datasets {
			if !slices.Contains(ds.Type, "dcat:Dataset") || !slices.Contains(ds.Type, "dcatapit:Dataset") {
				t.Errorf("dataset %s typed %v", ds.Identifier, ds.Type)
			}
			if want := "gemella:gemella-" + opendata.Tables()[i].Name; ds.Identifier != want {
				t.Errorf("dataset %d is %s, want %s", i, ds.Identifier, want)
			}
			for _, d := range ds.Distributions {
				for _, url := range []string{d.AccessURL.ID, d.DownloadURL.ID} {
					if got := fetch(t, url, nil); got.status != http.StatusOK {
						t.Errorf("%s answers %d", url, got.status)
					}
				}
			}
		}
	})

	t.Run("a draft never appears", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		asAdmin, err := st.AdminContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		urls := st.URLs()
		catConn, err := grpcx.Dial(urls.Catalog, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer catConn.Close()
		twConn, err := grpcx.Dial(urls.Twinning, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer twConn.Close()
		cat, tw := catalogv1.NewCatalogServiceClient(catConn), twinningv1.NewTwinningServiceClient(twConn)
		orgs, err := cat.ListOrganizations(asAdmin, &catalogv1.ListOrganizationsRequest{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]string{}
		for _, o := range orgs.GetOrganizations() {
			byName[o.GetName()] = o.GetId()
		}
		draft, err := cat.CreatePractice(asAdmin, &catalogv1.CreatePracticeRequest{RequestId: "opendata-test-draft", Practice: &catalogv1.Practice{
			Title: "Pratica in bozza da non pubblicare", OwnerOrganizationIds: []string{byName["Regione Toscana"]},
			Models: []*catalogv1.Model{{Code: "A", Title: "Modello in bozza da non pubblicare"}},
		}})
		if err != nil {
			t.Fatalf("create a draft practice: %v", err)
		}
		if draft.GetStatus() != catalogv1.PracticeStatus_PRACTICE_STATUS_DRAFT {
			t.Fatalf("the new practice is %s, want a draft", draft.GetStatus())
		}
		draftTwinning, err := tw.CreateTwinning(asAdmin, &twinningv1.CreateTwinningRequest{RequestId: "opendata-test-draft", Twinning: &twinningv1.Twinning{
			Code: "BOZZA-OPENDATA", Title: "Gemellaggio in bozza da non pubblicare", Origin: twinningv1.Origin_ORIGIN_DIRECT,
			OfferingOrganizationIds: []string{byName["Regione Toscana"]}, ReceivingOrganizationIds: []string{byName["Regione Marche"]},
		}})
		if err != nil {
			t.Fatalf("create a draft twinning: %v", err)
		}
		for _, info := range opendata.Tables() {
			for _, f := range opendata.Formats {
				r := fetch(t, base+info.Path(f), nil)
				for _, secret := range []string{draft.GetId(), "da non pubblicare", draftTwinning.GetId(), "BOZZA-OPENDATA"} {
					if bytes.Contains(r.body, []byte(secret)) {
						t.Errorf("%s shows the draft's %q", info.Path(f), secret)
					}
				}
			}
		}
		// The drafts exist: their editors see them.
		if _, err := cat.GetPractice(asAdmin, &catalogv1.GetPracticeRequest{Id: draft.GetId()}); err != nil {
			t.Errorf("the draft practice is not there for its editor: %v", err)
		}
	})

	t.Run("the portal links the downloads", func(t *testing.T) {
		for _, page := range []string{"/practices", "/twinnings/" + demo.TosCaCode} {
			r := fetch(t, base+page, nil)
			if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`href="/opendata/`)) {
				t.Errorf("GET %s: %d, links to /opendata/: %v", page, r.status, bytes.Contains(r.body, []byte(`href="/opendata/`)))
			}
		}
	})
}
