// Package envdoc documents every environment variable of every Gemella
// binary from the configuration structs themselves: the names and
// defaults from their env and envPrefix tags and their default values,
// the descriptions from the fields' doc comments (read from the source
// with go/ast). It renders one Markdown table per binary for the README
// and one example env file per deployed binary under deploy/env; `make
// envdoc` (cmd/envdoc) writes them, and a test fails while they differ
// from the code.
package envdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/caarlos0/env/v11"
)

// Binary is one program and the configuration it reads.
type Binary struct {
	// Name is the binary's name, the table's heading and the env file's.
	Name string
	// Intro is a sentence printed above the table.
	Intro string
	// Configs are the structs the binary loads, each with its defaults
	// filled (a service's DefaultConfig()).
	Configs []any
	// EnvFile says whether deploy/env carries an example file for it.
	EnvFile bool
}

// Var is one environment variable.
type Var struct {
	Name string
	// Default is the value the binary uses when the variable is unset;
	// empty when that is the empty value.
	Default     string
	Description string
}

// Vars lists the variables cfg (a struct value) reads, in declaration
// order. Every one must have a doc comment: an undocumented variable is an
// error naming it.
func Vars(cfg any) ([]Var, error) {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("envdoc: %T is not a struct", cfg)
	}
	index.mu.Lock()
	defer index.mu.Unlock()
	if err := index.prefetch(v.Type()); err != nil {
		return nil, err
	}
	w := walker{docs: index}
	if err := w.walk(v, ""); err != nil {
		return nil, err
	}
	if err := crossCheck(cfg, w.vars); err != nil {
		return nil, err
	}
	var undocumented []string
	for _, v := range w.vars {
		if v.Description == "" {
			undocumented = append(undocumented, v.Name)
		}
	}
	if len(undocumented) > 0 {
		return nil, fmt.Errorf("envdoc: %T: no doc comment on the field of %s: write one (it is the variable's description)", cfg, strings.Join(undocumented, ", "))
	}
	return w.vars, nil
}

// crossCheck compares the walk with what the env package itself reads, so
// that a rule of its traversal the walk misses fails here rather than
// leaving a variable out.
func crossCheck(cfg any, vars []Var) error {
	ptr := reflect.New(reflect.TypeOf(cfg))
	ptr.Elem().Set(reflect.ValueOf(cfg))
	params, err := env.GetFieldParamsWithOptions(ptr.Interface(), env.Options{Environment: map[string]string{}})
	if err != nil {
		return fmt.Errorf("envdoc: %T: %w", cfg, err)
	}
	var want, got []string
	for _, p := range params {
		want = append(want, p.Key)
	}
	for _, v := range vars {
		got = append(got, v.Name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return fmt.Errorf("envdoc: %T: the walk found %v, the env package reads %v", cfg, got, want)
	}
	return nil
}

// fallbacks describe fields whose struct gives them no comment of their
// own yet, by "import path.Type.Field"; the field's own comment, once
// written, wins. config.Mongo's fields are commented in a change of
// deploy's (TLS and credentials in the URI) being made at the same time:
// these go once it is merged.
var fallbacks = map[string]string{
	"github.com/gemella/gemella/services/platform/config.Mongo.URI":      "URI is the MongoDB connection string of the service's database (mongodb:// or mongodb+srv://), credentials and TLS options included.",
	"github.com/gemella/gemella/services/platform/config.Mongo.Database": "Database is the service's own database; no service reads another's.",
}

type walker struct {
	docs *docIndex
	vars []Var
}

// walk follows the rules of github.com/caarlos0/env: a field with an env
// name is a variable under the current prefix; a struct field (or a
// pointer to one) without one is walked with its envPrefix added.
func (w *walker) walk(v reflect.Value, prefix string) error {
	t := v.Type()
	docs, err := w.docs.fields(t)
	if err != nil {
		return err
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		d := docs[f.Name]
		if d.text == "" {
			d.text = fallbacks[t.PkgPath()+"."+t.Name()+"."+f.Name]
		}
		if name != "" {
			def, err := format(fv, f)
			if err != nil {
				return fmt.Errorf("envdoc: %s%s: %w", prefix, name, err)
			}
			desc := describe(f.Name, d.text)
			if d.head != "" {
				// One comment above a run of fields: said once, at the
				// run's first variable.
				head, _ := t.FieldByName(d.head)
				headName, _, _ := strings.Cut(head.Tag.Get("env"), ",")
				desc = "See `" + prefix + headName + "`."
			}
			w.vars = append(w.vars, Var{Name: prefix + name, Default: def, Description: desc})
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
			if fv.IsNil() {
				continue // the env package skips a nil pointer to a struct
			}
			fv = fv.Elem()
		}
		if ft.Kind() != reflect.Struct || ft == reflect.TypeOf(time.Time{}) {
			continue
		}
		if err := w.walk(fv, prefix+f.Tag.Get("envPrefix")); err != nil {
			return err
		}
	}
	return nil
}

// describe turns a field's doc comment into a variable's description:
// "TokenTTL is how long a session token lives." becomes "How long a
// session token lives."
func describe(field, doc string) string {
	doc = strings.Join(strings.Fields(doc), " ")
	rest, ok := strings.CutPrefix(doc, field)
	if !ok {
		return doc
	}
	switch {
	case strings.HasPrefix(rest, " is "):
		rest = rest[len(" is "):]
	case strings.HasPrefix(rest, " are "):
		rest = rest[len(" are "):]
	case strings.HasPrefix(rest, ", "):
		// "MetricsAddr, when set, is the host:port …" → "When set, the host:port …"
		clause, after, found := strings.Cut(rest[2:], ", ")
		if !found || !(strings.HasPrefix(after, "is ") || strings.HasPrefix(after, "are ")) {
			return doc
		}
		_, after, _ = strings.Cut(after, " ")
		rest = clause + ", " + after
	default:
		// "TrustProxyHeaders takes …" reads best as it is.
		return doc
	}
	r, size := utf8.DecodeRuneInString(rest)
	return string(unicode.ToUpper(r)) + rest[size:]
}

// format renders a field's default value as the variable would spell it.
func format(v reflect.Value, f reflect.StructField) (string, error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", nil
		}
		v = v.Elem()
	}
	if d, ok := v.Interface().(time.Duration); ok {
		return formatDuration(d), nil
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), nil
	case reflect.Slice:
		sep := f.Tag.Get("envSeparator")
		if sep == "" {
			sep = ","
		}
		parts := make([]string, v.Len())
		for i := range v.Len() {
			s, err := format(v.Index(i), f)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, sep), nil
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String(), nil
	}
	return "", fmt.Errorf("no way to show a default of type %s", v.Type())
}

// formatDuration writes 15m rather than 15m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// docIndex finds the doc comments of struct fields in the source of their
// packages, located with `go list`.
type docIndex struct {
	mu    sync.Mutex
	dirs  map[string]string                     // import path → directory
	types map[string]map[string]*ast.StructType // import path → type name → struct
	fsets map[string]*token.FileSet             // import path → positions
	cache map[reflect.Type]map[string]fieldDoc  // type → field → doc
}

// index serves every call: the packages are listed and parsed once.
var index = &docIndex{}

// fieldDoc is a field's comment; head names the field whose comment it
// shares (the first of a run of fields under one comment), or is empty.
type fieldDoc struct {
	text, head string
}

// fields returns the doc comment of every field of the struct type t, by
// field name. A field without a comment of its own takes the comment
// above the run of fields it belongs to (fields on consecutive lines, as
// in "Rate limits …" above six rate fields).
func (x *docIndex) fields(t reflect.Type) (map[string]fieldDoc, error) {
	if x.cache == nil {
		x.cache = map[reflect.Type]map[string]fieldDoc{}
	}
	if docs, ok := x.cache[t]; ok {
		return docs, nil
	}
	if t.Name() == "" || t.PkgPath() == "" {
		return nil, fmt.Errorf("envdoc: an unnamed struct type (%s) has no doc comments to read: give it a name", t)
	}
	st, fset, err := x.structType(t.PkgPath(), t.Name())
	if err != nil {
		return nil, err
	}
	docs := map[string]fieldDoc{}
	var run fieldDoc // the comment of the current run and its first field
	lastLine := -1
	for _, f := range st.Fields.List {
		names := fieldNames(f)
		d := fieldDoc{text: f.Doc.Text()}
		if d.text == "" {
			d.text = f.Comment.Text()
		}
		adjacent := fset.Position(f.Pos()).Line == lastLine+1
		switch {
		case f.Doc != nil || !adjacent:
			run = fieldDoc{text: d.text}
			if len(names) > 0 {
				run.head = names[0]
			}
		case d.text == "" && run.text != "":
			d = run
		}
		lastLine = fset.Position(f.End()).Line
		for _, name := range names {
			docs[name] = d
		}
	}
	x.cache[t] = docs
	return docs, nil
}

func fieldNames(f *ast.Field) []string {
	if len(f.Names) > 0 {
		names := make([]string, len(f.Names))
		for i, n := range f.Names {
			names[i] = n.Name
		}
		return names
	}
	// Embedded: the type's name.
	expr := f.Type
	if star, ok := expr.(*ast.StarExpr); ok {
		expr = star.X
	}
	switch e := expr.(type) {
	case *ast.Ident:
		return []string{e.Name}
	case *ast.SelectorExpr:
		return []string{e.Sel.Name}
	}
	return nil
}

func (x *docIndex) structType(pkgPath, name string) (*ast.StructType, *token.FileSet, error) {
	if x.types == nil {
		x.types, x.fsets = map[string]map[string]*ast.StructType{}, map[string]*token.FileSet{}
	}
	types, ok := x.types[pkgPath]
	if !ok {
		dir, err := x.dir(pkgPath)
		if err != nil {
			return nil, nil, err
		}
		fset := token.NewFileSet()
		types = map[string]*ast.StructType{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, err
		}
		// Test files last: a type of theirs (a test's fixture) never hides
		// one of the package's.
		slices.SortStableFunc(entries, func(a, b os.DirEntry) int {
			return cmpBool(strings.HasSuffix(a.Name(), "_test.go"), strings.HasSuffix(b.Name(), "_test.go"))
		})
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			file, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return nil, nil, fmt.Errorf("envdoc: %w", err)
			}
			for _, decl := range file.Decls {
				gen, ok := decl.(*ast.GenDecl)
				if !ok || gen.Tok != token.TYPE {
					continue
				}
				for _, spec := range gen.Specs {
					ts := spec.(*ast.TypeSpec)
					if st, ok := ts.Type.(*ast.StructType); ok && types[ts.Name.Name] == nil {
						types[ts.Name.Name] = st
					}
				}
			}
		}
		x.types[pkgPath], x.fsets[pkgPath] = types, fset
	}
	st, ok := types[name]
	if !ok {
		return nil, nil, fmt.Errorf("envdoc: no struct type %s in the source of %s", name, pkgPath)
	}
	return st, x.fsets[pkgPath], nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// prefetch lists, with one `go list`, the packages of every named struct
// type reachable from t whose directory is not known yet.
func (x *docIndex) prefetch(t reflect.Type) error {
	if x.dirs == nil {
		x.dirs = map[string]string{}
	}
	var missing []string
	seen := map[reflect.Type]bool{}
	var visit func(reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t == reflect.TypeOf(time.Time{}) {
			return
		}
		seen[t] = true
		if p := t.PkgPath(); p != "" && x.dirs[p] == "" && !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				visit(f.Type)
			}
		}
	}
	visit(t)
	if len(missing) == 0 {
		return nil
	}
	var stderr bytes.Buffer
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Dir"}, missing...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("envdoc: go list %s: %w: %s", strings.Join(missing, " "), err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct{ ImportPath, Dir string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("envdoc: go list: %w", err)
		}
		x.dirs[p.ImportPath] = p.Dir
	}
}

// dir is a package's source directory, listed by prefetch.
func (x *docIndex) dir(pkgPath string) (string, error) {
	if d := x.dirs[pkgPath]; d != "" {
		return d, nil
	}
	return "", fmt.Errorf("envdoc: no source directory known for %s", pkgPath)
}
