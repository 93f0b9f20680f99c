// Command envdoc writes the README's configuration tables and the example
// env files under deploy/env from the configuration structs (package
// envdoc): `make envdoc`.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gemella/gemella/deploy/devstack/envdoc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "envdoc:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := repositoryRoot()
	if err != nil {
		return err
	}
	files, err := envdoc.Generate(root, envdoc.Binaries())
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		full := filepath.Join(root, p)
		old, err := os.ReadFile(full)
		if err == nil && string(old) == files[p] {
			fmt.Printf("%s: current\n", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: written\n", p)
	}
	return nil
}

// repositoryRoot is the folder holding go.work, at or above the working
// directory.
func repositoryRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.work in %s or above it: run from inside the repository", wd)
		}
	}
}
