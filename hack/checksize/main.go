// Command checksize lists the Go files over a line budget and the functions
// over a length budget, as the project's standards ask: tests and generated
// files are left out, and so are the lines of declarative tables (composite
// literals that hold no function literal), which may be as long as their data.
//
// A function whose doc comment has a line "checksize: keep <reason>" is
// left out too: the reason says why its length is the clearer shape.
//
// Usage: go run ./hack/checksize [-file-lines N] [-func-lines N] [dir]
// It prints one line per offender and exits 1 when there is any.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	fileMax := flag.Int("file-lines", 500, "largest number of lines a file may have")
	funcMax := flag.Int("func-lines", 80, "largest number of lines a function may have, tables left out")
	flag.Parse()
	root := "."
	if flag.NArg() > 0 {
		root = flag.Arg(0)
	}
	found, err := check(root, *fileMax, *funcMax)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checksize:", err)
		os.Exit(2)
	}
	for _, line := range found {
		fmt.Println(line)
	}
	if len(found) > 0 {
		os.Exit(1)
	}
}

// check walks root and returns one line per file or function over budget.
func check(root string, fileMax, funcMax int) ([]string, error) {
	var found []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "vendor" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		if n := fset.File(f.Pos()).LineCount(); n > fileMax {
			found = append(found, fmt.Sprintf("%s: file has %d lines (budget %d)", path, n, fileMax))
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || kept(fn) {
				continue
			}
			total, net := funcLines(fset, fn)
			if net > funcMax {
				found = append(found, fmt.Sprintf("%s:%d: func %s has %d lines, %d outside tables (budget %d)",
					path, fset.Position(fn.Pos()).Line, funcName(fn), total, net, funcMax))
			}
		}
		return nil
	})
	sort.Strings(found)
	return found, err
}

// funcLines returns a function's length in lines and its length without the
// lines of the declarative tables inside it.
func funcLines(fset *token.FileSet, fn *ast.FuncDecl) (total, net int) {
	first := fset.Position(fn.Pos()).Line
	last := fset.Position(fn.End()).Line
	total = last - first + 1
	table := map[int]bool{}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok || holdsFunc(lit) {
			return true
		}
		from, to := fset.Position(lit.Lbrace).Line, fset.Position(lit.Rbrace).Line
		// The lines strictly inside the braces are the table; the line
		// that opens it and the one that closes it still count.
		for l := from + 1; l < to; l++ {
			table[l] = true
		}
		return false
	})
	return total, total - len(table)
}

// holdsFunc reports whether a composite literal holds code (a function
// literal), which makes it logic rather than a table.
func holdsFunc(lit *ast.CompositeLit) bool {
	code := false
	ast.Inspect(lit, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			code = true
		}
		return !code
	})
	return code
}

// kept reports whether the function's doc comment asks to keep its length.
func kept(fn *ast.FuncDecl) bool {
	return fn.Doc != nil && strings.Contains(fn.Doc.Text(), "checksize: keep ")
}

func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if g, ok := t.(*ast.IndexExpr); ok {
		t = g.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}
