package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gemella/gemella/services/discussion/service"
)

// bootstrapCommand makes the first administrator of an installation:
//
//	discussion bootstrap-admin --email ada@example.org --display-name "Ada Rossi" < password-file
//
// with the service's own environment (GEMELLA_DISCUSSION_MONGO_*). It
// registers the member, or takes the one registered with that address
// (then no password is read), and grants the administrator role, recorded
// as by "system:bootstrap". Once an administrator exists it refuses, and
// exits 1; administrators grant roles to others through the API.
const bootstrapCommand = "bootstrap-admin"

// bootstrapTimeout bounds the whole command: a hash, a few writes.
const bootstrapTimeout = 2 * time.Minute

// Exit codes: 0 done, 1 refused or failed, 2 bad usage or configuration.
func bootstrapAdmin(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("discussion "+bootstrapCommand, flag.ContinueOnError)
	flags.SetOutput(stderr)
	email := flags.String("email", "", "e-mail address of the first administrator (required)")
	displayName := flags.String("display-name", "", "public name, when the command registers the member")
	organization := flags.String("organization", "", "organisation named in the profile, when the command registers the member")
	roleTitle := flags.String("role-title", "", "job title in the profile, when the command registers the member")
	flags.Usage = func() {
		fmt.Fprintf(stderr, `usage: discussion %s --email ADDRESS [--display-name NAME] [--organization ORG] [--role-title TITLE]

Makes the first administrator of this installation, once: the member
registered with ADDRESS, or a new member with the name given and the
password in GEMELLA_BOOTSTRAP_ADMIN_PASSWORD or on standard input (a file
or a pipe, first line). Reads the service's GEMELLA_DISCUSSION_MONGO_*
variables. Refused once an administrator exists.

`, bootstrapCommand)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *email == "" || flags.NArg() > 0 {
		flags.Usage()
		return 2
	}
	cfg, bootstrap, err := service.LoadBootstrapConfig()
	if err != nil {
		fmt.Fprintf(stderr, "discussion %s: %v\n", bootstrapCommand, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, bootstrapTimeout)
	defer cancel()
	res, err := service.BootstrapAdministrator(ctx, cfg, service.BootstrapRequest{
		Email: *email, DisplayName: *displayName, OrganizationName: *organization, RoleTitle: *roleTitle,
		Password: func() (string, error) {
			if bootstrap.AdminPassword != "" {
				return bootstrap.AdminPassword, nil
			}
			return readPassword(stdin)
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "discussion %s: refused: %v\n", bootstrapCommand, err)
		return 1
	}
	how := "the member registered with that address"
	if res.Registered {
		how = "a member registered now"
	}
	fmt.Fprintf(stdout, "%s is the first administrator (member %s, %s; granted by system:bootstrap).\nLog in with that address; administrators grant roles to others.\n", res.Email, res.MemberID, how)
	return 0
}

// errPasswordAtTerminal: without a terminal library the password would be
// shown as it is typed.
var errPasswordAtTerminal = errors.New("the password is read from GEMELLA_BOOTSTRAP_ADMIN_PASSWORD or from standard input redirected from a file or a pipe, not typed at a terminal (it would show)")

// readPassword reads the first line of r.
func readPassword(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			return "", errPasswordAtTerminal
		}
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
