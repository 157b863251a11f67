package metadata

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ownVarNames are the variables berth itself defines (Env.Vars; the image
// build adds COMPONENT_DIR, UID and GID the same way): never undefined.
var ownVarNames = map[string]bool{
	"ENV_ROOT": true, "ENV_NAME": true, "INSTALL_ROOT": true, "BERTH": true,
	"UID": true, "GID": true, "COMPONENT_DIR": true,
}

// UndefinedVariables finds every variable reference in berth.yaml that would
// fail to expand, with its file and line: one neither berth, config/.env nor
// berth's own environment defines and that has no default, a ${VAR:?msg}
// whose VAR is unset, or a malformed reference. Descriptions are prose and
// are not read.
func (e *Env) UndefinedVariables() []string {
	if e.Manifest == nil || e.Manifest.Path == "" {
		return nil
	}
	data, err := os.ReadFile(e.Manifest.Path)
	if err != nil {
		return nil // the manifest was read when the environment opened
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	// A task's arguments are variables of its own command.
	var taskArgs map[string]bool
	lookup := func(k string) (string, bool) {
		if ownVarNames[k] || taskArgs[k] {
			return "", true
		}
		if e.DotEnv != nil {
			if v, ok := e.DotEnv.Get(k); ok {
				return v, true
			}
		}
		return os.LookupEnv(k)
	}
	where := e.Manifest.Path
	if rel, err := filepath.Rel(e.Root, where); err == nil && !strings.HasPrefix(rel, "..") {
		where = rel
	}
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			outer := taskArgs
			if args := argNames(n); args != nil {
				taskArgs = args
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value != "description" {
					walk(n.Content[i+1])
				}
			}
			taskArgs = outer
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "$") {
				return
			}
			missing, err := MissingVars(n.Value, lookup)
			if err != nil {
				out = append(out, fmt.Sprintf("%s:%d: %v", where, n.Line, err))
			}
			for _, m := range missing {
				out = append(out, fmt.Sprintf("%s:%d: %s", where, n.Line, undefinedMsg(m)))
			}
		}
	}
	walk(&doc)
	return out
}

func undefinedMsg(m *VarError) string {
	if m.Msg != "" {
		return fmt.Sprintf("${%s} is not set: %s", m.Name, m.Msg)
	}
	return fmt.Sprintf("${%s} is not set: define it in config/.env (or give a default: ${%s:-value})", m.Name, m.Name)
}

// argNames are the names a task's args: declare, nil when n has none.
func argNames(n *yaml.Node) map[string]bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "args" || n.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		names := map[string]bool{}
		for _, a := range n.Content[i+1].Content {
			for j := 0; a.Kind == yaml.MappingNode && j+1 < len(a.Content); j += 2 {
				if a.Content[j].Value == "name" {
					names[a.Content[j+1].Value] = true
				}
			}
		}
		return names
	}
	return nil
}

// ServiceLines are the lines of berth.yaml where each service's entry
// begins; empty when the file cannot be read again.
func (m *Manifest) ServiceLines() map[string]int {
	out := map[string]int{}
	data, err := os.ReadFile(m.Path)
	if err != nil {
		return out
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "services" {
			continue
		}
		svcs := top.Content[i+1]
		for j := 0; j+1 < len(svcs.Content); j += 2 {
			out[svcs.Content[j].Value] = svcs.Content[j].Line
		}
	}
	return out
}
