package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gemella/gemella/services/platform/embedded"
)

type run struct {
	code           int
	stdout, stderr string
}

func bootstrap(stdin string, args ...string) run {
	var out, errOut bytes.Buffer
	code := bootstrapAdmin(args, strings.NewReader(stdin), &out, &errOut)
	return run{code, out.String(), errOut.String()}
}

type storedMember struct {
	ID     string   `bson:"_id"`
	Email  string   `bson:"email"`
	Roles  []string `bson:"granted_roles"`
	Grants []struct {
		Kind string    `bson:"kind"`
		Role string    `bson:"role"`
		By   string    `bson:"by"`
		At   time.Time `bson:"at"`
	} `bson:"decisions"`
	Pending []bson.Raw `bson:"pending_events"`
}

func administrators(t *testing.T, db *mongo.Database) []storedMember {
	t.Helper()
	cur, err := db.Collection("members").Find(context.Background(), bson.D{{Key: "granted_roles", Value: "administrator"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []storedMember
	if err := cur.All(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The story of a new installation: two operators (or two replicas of a
// deployment job) run the command at the same moment with different
// addresses; exactly one becomes administrator, recorded as granted by
// system:bootstrap, and the other is refused. Any later run is refused.
func TestBootstrapAdminOnceEvenWhenTwoRunAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the embedded FerretDB")
	}
	f := embedded.FerretDBForTest(t)
	t.Setenv("GEMELLA_DISCUSSION_MONGO_URI", f.URI())
	t.Setenv("GEMELLA_DISCUSSION_MONGO_DATABASE", "bootstrap_test")
	client, err := mongo.Connect(options.Client().ApplyURI(f.URI()).SetTimeout(20 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := client.Database("bootstrap_test")

	if r := bootstrap("", "--display-name", "Nobody"); r.code != 2 || !strings.Contains(r.stderr, "--email") {
		t.Fatalf("without --email: exit %d, %q", r.code, r.stderr)
	}

	before := time.Now().Add(-time.Second)
	runs := make([]run, 2)
	var wg sync.WaitGroup
	for i, who := range []string{"ada", "bruno"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = bootstrap("una password abbastanza lunga\n",
				"--email", who+"@example.it", "--display-name", strings.ToUpper(who[:1])+who[1:]+" Operatore")
		}()
	}
	wg.Wait()
	var winner string
	for i, r := range runs {
		switch r.code {
		case 0:
			if winner != "" {
				t.Fatalf("both runs succeeded: %+v", runs)
			}
			winner = []string{"ada@example.it", "bruno@example.it"}[i]
			if !strings.Contains(r.stdout, winner+" is the first administrator") {
				t.Errorf("the winner's output: %q", r.stdout)
			}
		case 1:
			if !strings.Contains(r.stderr, "refused") {
				t.Errorf("the loser's message: %q", r.stderr)
			}
		default:
			t.Fatalf("run %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	if winner == "" {
		t.Fatalf("neither run succeeded: %+v", runs)
	}

	admins := administrators(t, db)
	if len(admins) != 1 || admins[0].Email != winner {
		t.Fatalf("administrators after two runs at once: %+v, want %s alone", admins, winner)
	}
	g := admins[0].Grants
	if len(g) != 1 || g[0].Kind != "role_granted" || g[0].Role != "administrator" || g[0].By != "system:bootstrap" || g[0].At.Before(before) || g[0].At.After(time.Now()) {
		t.Fatalf("the grant is recorded as %+v, want administrator by system:bootstrap just now", g)
	}
	if len(admins[0].Pending) != 1 {
		t.Errorf("%d events wait in the new member's outbox, want the joined one", len(admins[0].Pending))
	}

	for _, email := range []string{winner, "carla@example.it"} {
		r := bootstrap("una password abbastanza lunga\n", "--email", email, "--display-name", "Carla Operatrice")
		if r.code != 1 || !strings.Contains(r.stderr, "an administrator exists already") {
			t.Fatalf("a later run for %s: exit %d, %q", email, r.code, r.stderr)
		}
	}
	if n := len(administrators(t, db)); n != 1 {
		t.Fatalf("%d administrators after the refused runs, want 1", n)
	}
}

// Bad input is refused naming the fields; the password may come from the
// environment instead of standard input.
func TestBootstrapAdminRefusesBadInputAndReadsThePasswordFromTheEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the embedded FerretDB")
	}
	f := embedded.FerretDBForTest(t)
	t.Setenv("GEMELLA_DISCUSSION_MONGO_URI", f.URI())
	t.Setenv("GEMELLA_DISCUSSION_MONGO_DATABASE", "bootstrap_input")
	r := bootstrap("corta\n", "--email", "dora@example.it")
	if r.code != 1 || !strings.Contains(r.stderr, "display_name") || !strings.Contains(r.stderr, "password") {
		t.Fatalf("no name and a short password: exit %d, %q", r.code, r.stderr)
	}
	t.Setenv("GEMELLA_BOOTSTRAP_ADMIN_PASSWORD", "una password abbastanza lunga")
	r = bootstrap("", "--email", "dora@example.it", "--display-name", "Dora Operatrice")
	if r.code != 0 || !strings.Contains(r.stdout, "a member registered now") {
		t.Fatalf("with the password in the environment: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}
