package opendata

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/gemella/gemella/proto/gemella/catalog/v1"
)

type served struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, method, url string, header map[string]string) served {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return served{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func startService(t *testing.T, b Backends, opts ...Option) string {
	t.Helper()
	srv := httptest.NewServer(newTestService(t, b, opts...))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestADownloadSaysItsLicenceNameAndVersion(t *testing.T) {
	base := startService(t, newFakes(t).backends())
	for _, tc := range []struct{ path, contentType, file string }{
		{"/opendata/practices.csv", "text/csv; charset=utf-8; header=present", "gemella-practices.csv"},
		{"/opendata/practices.jsonl", "application/jsonl; charset=utf-8", "gemella-practices.jsonl"},
	} {
		r := get(t, "GET", base+tc.path, nil)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", tc.path, r.status, r.body)
		}
		for name, want := range map[string]string{
			"Content-Type":        tc.contentType,
			"Content-Disposition": `attachment; filename="` + tc.file + `"`,
			"Link":                `<https://creativecommons.org/licenses/by/4.0/>; rel="license"`,
			"Last-Modified":       "Mon, 01 Jan 2024 09:04:00 GMT", // the newest update among the public practices
			"Cache-Control":       "public, no-cache",
		} {
			if got := r.header.Get(name); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, name, got, want)
			}
		}
		if e := r.header.Get("ETag"); !strings.HasPrefix(e, `W/"`) {
			t.Errorf("GET %s: ETag %q, want a weak entity tag", tc.path, e)
		}
	}
	csvBody := get(t, "GET", base+"/opendata/practices.csv", nil).body
	if strings.HasPrefix(csvBody, "\ufeff") || strings.HasPrefix(csvBody, "#") {
		t.Error("the CSV starts with a byte order mark or a comment line")
	}
	if !strings.HasPrefix(csvBody, "id,slug,title,") || !strings.Contains(csvBody, "\r\n") {
		t.Errorf("the CSV does not start with its header row or has no CRLF line ends: %.80q", csvBody)
	}
}

func TestConditionalRequests(t *testing.T) {
	f := newFakes(t)
	// More than a page, so that the oldest practices are not on the first.
	f.catalog.practices.set(newestFirst(practicesN(150, nil)))
	clock := &manualClock{now: epoch.Add(24 * time.Hour)}
	base := startService(t, f.backends(), WithClock(clock.Now))
	url := base + "/opendata/practices.csv"
	first := get(t, "GET", url, nil)
	tag, modified := first.header.Get("ETag"), first.header.Get("Last-Modified")

	scans := f.catalog.practices.calls
	if r := get(t, "GET", url, map[string]string{"If-None-Match": tag}); r.status != http.StatusNotModified || r.body != "" {
		t.Fatalf("If-None-Match with the current ETag: %d %q, want 304 and no body", r.status, r.body)
	}
	if got := f.catalog.practices.calls - scans; got != 1 {
		t.Errorf("a 304 within the cache time read %d pages, want 1 (the first, to check it)", got)
	}
	if r := get(t, "GET", url, map[string]string{"If-None-Match": `"other", ` + strings.TrimPrefix(tag, "W/")}); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match with a list holding the ETag (strong form): %d, want 304", r.status)
	}
	if r := get(t, "GET", url, map[string]string{"If-Modified-Since": modified}); r.status != http.StatusNotModified {
		t.Errorf("If-Modified-Since the Last-Modified: %d, want 304", r.status)
	}
	// The JSON Lines of the same table is another body: the CSV's ETag
	// does not validate it.
	jsonl := base + "/opendata/practices.jsonl"
	if r := get(t, "GET", jsonl, map[string]string{"If-None-Match": tag}); r.status != http.StatusOK || r.header.Get("ETag") == tag {
		t.Errorf("the CSV's ETag on the JSON Lines: %d, ETag %s (the CSV's %s)", r.status, r.header.Get("ETag"), tag)
	}
	if r := get(t, "GET", url, map[string]string{"If-Modified-Since": "Mon, 01 Jan 2024 11:28:59 GMT"}); r.status != 200 {
		t.Errorf("If-Modified-Since before the last change: %d, want 200", r.status)
	}
	if r := get(t, "HEAD", url, nil); r.status != 200 || r.body != "" || r.header.Get("ETag") != tag {
		t.Errorf("HEAD: %d, body %q, ETag %q; want 200, no body, %q", r.status, r.body, r.header.Get("ETag"), tag)
	}
	if r := get(t, "GET", base+"/opendata/models.csv", map[string]string{"If-None-Match": tag}); r.status != 200 {
		t.Errorf("the practices' ETag on models.csv: %d, want 200 (each table has its own)", r.status)
	}

	// A new practice is at the head of the list: the first page shows it
	// at once, whatever the cache.
	f.catalog.practices.update(func(items []*catalogv1.Practice) []*catalogv1.Practice {
		return append([]*catalogv1.Practice{practiceAt(200)}, items...)
	})
	r := get(t, "GET", url, map[string]string{"If-None-Match": tag})
	if r.status != 200 || r.header.Get("ETag") == tag || !strings.Contains(r.body, "p-0200") {
		t.Fatalf("after a new practice: %d, ETag %q (was %q); want 200, a new ETag and the new row", r.status, r.header.Get("ETag"), tag)
	}
	tag = r.header.Get("ETag")

	// A change to an older practice shows once the cached fingerprint has
	// expired.
	f.catalog.practices.update(func(items []*catalogv1.Practice) []*catalogv1.Practice {
		last := items[len(items)-1]
		last.Title, last.Etag, last.UpdateTime = "Titolo corretto", `"2"`, ts(epoch.Add(48*time.Hour))
		return items
	})
	if r := get(t, "GET", url, map[string]string{"If-None-Match": tag}); r.status != http.StatusNotModified {
		t.Errorf("within the cache time a change to an old row may wait: %d, want 304", r.status)
	}
	clock.advance(DefaultConfig().CacheTTL)
	r = get(t, "GET", url, map[string]string{"If-None-Match": tag})
	if r.status != 200 || !strings.Contains(r.body, "Titolo corretto") || r.header.Get("Last-Modified") != "Wed, 03 Jan 2024 09:00:00 GMT" {
		t.Errorf("after the cache time: %d, Last-Modified %q; want 200 with the corrected title and the new time", r.status, r.header.Get("Last-Modified"))
	}
}

func TestCallsAreAnonymousWhoeverAsks(t *testing.T) {
	// The fakes fail the test on any call with credentials.
	base := startService(t, newFakes(t).backends())
	r := get(t, "GET", base+"/opendata/twinnings.csv", map[string]string{"Authorization": "Bearer secret-token-of-a-coordinator"})
	if r.status != 200 || strings.Contains(r.body, "tw-draft") {
		t.Errorf("a coordinator's download: %d, drafts shown: %v", r.status, strings.Contains(r.body, "tw-draft"))
	}
}

func TestFailures(t *testing.T) {
	f := newFakes(t)
	base := startService(t, f.backends())
	noTwinning := startService(t, Backends{Catalog: f.catalog})
	for _, tc := range []struct {
		name, method, url string
		want              int
		code              string
	}{
		{"unknown table", "GET", base + "/opendata/members.csv", 404, "NOT_FOUND"},
		{"unknown format", "GET", base + "/opendata/practices.xlsx", 404, "NOT_FOUND"},
		{"no extension", "GET", base + "/opendata/practices", 404, "NOT_FOUND"},
		{"a write", "POST", base + "/opendata/practices.csv", 405, "UNIMPLEMENTED"},
		{"service not configured", "GET", noTwinning + "/opendata/transfers.csv", 503, "UNAVAILABLE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, tc.method, tc.url, nil)
			var body struct {
				Error struct {
					Code   int    `json:"code"`
					Status string `json:"status"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.body), &body); err != nil {
				t.Fatalf("%d %q: not the JSON error shape: %v", r.status, r.body, err)
			}
			if r.status != tc.want || body.Error.Code != tc.want || body.Error.Status != tc.code {
				t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.url, r.status, body.Error.Status, tc.want, tc.code)
			}
		})
	}
	f.catalog.fail = status.Error(codes.Unavailable, "connection refused")
	if r := get(t, "GET", base+"/opendata/needs.csv", nil); r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("catalog unavailable: %d, Retry-After %q; want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	if r := get(t, "GET", base+"/opendata", nil); r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/opendata/" {
		t.Errorf("/opendata: %d to %q, want a redirect to /opendata/", r.status, r.header.Get("Location"))
	}
}

// A list that fails after the status is sent cuts the connection: the
// client must not take a short file for a whole one.
func TestAFailureMidwayCutsTheDownload(t *testing.T) {
	g := &generatedCatalog{n: 500}
	calls := 0
	failing := &failAfter{generatedCatalog: g, after: 7, calls: &calls} // 5 pages to scan, then 2 written
	base := startService(t, Backends{Catalog: failing})
	resp, err := http.Get(base + "/opendata/practices.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200 (the failure comes later)", resp.StatusCode)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err == nil {
		t.Fatalf("read %d rows and no error: a cut download looked whole", len(rows))
	}
}

type failAfter struct {
	*generatedCatalog
	after int
	calls *int
}

func (f *failAfter) ListPractices(ctx context.Context, req *catalogv1.ListPracticesRequest, opts ...grpc.CallOption) (*catalogv1.ListPracticesResponse, error) {
	*f.calls++
	if *f.calls > f.after {
		return nil, status.Error(codes.Unavailable, "the catalog went away")
	}
	return f.generatedCatalog.ListPractices(ctx, req, opts...)
}

func TestDownloadsAreBoundedPerGateway(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxExports = 1
	block := make(chan struct{})
	entered := make(chan struct{}, 1)
	g := &generatedCatalog{n: 10, onList: func(int) {
		select {
		case entered <- struct{}{}:
			<-block
		default:
		}
	}}
	s, err := New(cfg, Backends{Catalog: g}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	done := make(chan served, 1)
	go func() { done <- get(t, "GET", srv.URL+"/opendata/practices.csv", nil) }()
	<-entered
	r := get(t, "GET", srv.URL+"/opendata/models.csv", nil)
	close(block)
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("a second download while the only slot is taken: %d, Retry-After %q; want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	if first := <-done; first.status != 200 {
		t.Errorf("the first download: %d", first.status)
	}
}
