package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// UnmarshalYAML accepts both forms.
func (d *DependsOn) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return nodeError(item, "depends_on entries are service names")
			}
			*d = append(*d, Dependency{Service: item.Value, Condition: ConditionStarted})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			dep := Dependency{Service: k.Value, Condition: ConditionStarted}
			if v.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(v.Content); j += 2 {
					switch v.Content[j].Value {
					case "condition":
						dep.Condition = v.Content[j+1].Value
					case "restart":
						if err := v.Content[j+1].Decode(&dep.Restart); err != nil {
							return nodeError(v.Content[j+1], "depends_on.%s.restart is true or false", k.Value)
						}
					default:
						return nodeError(v.Content[j], "unknown key %q in depends_on.%s (condition or restart)", v.Content[j].Value, k.Value)
					}
				}
			} else if v.Kind != yaml.ScalarNode || (v.Tag != "!!null" && v.Value != "") {
				return nodeError(v, "depends_on.%s takes {condition: started|healthy}", k.Value)
			}
			*d = append(*d, dep)
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return nodeError(n, "depends_on is a list of service names")
	default:
		return nodeError(n, "depends_on is a list of service names")
	}
	return nil
}

// Duration is a time.Duration written as "5s" or "1m30s".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return nodeError(n, "invalid duration %q (write it like 5s, 500ms or 1m)", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ByteSize is a size written as 10MiB, 512KiB, 1GB or a plain number of bytes.
type ByteSize int64

var sizeRE = lazy(`^(\d+)\s*([KMG]i?B?|B)?$`)

// UnmarshalYAML parses a size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil {
		return nodeError(n, "invalid size %q (write it like 10MiB or 512KiB)", n.Value)
	}
	v, _ := strconv.ParseInt(m[1], 10, 64)
	switch strings.TrimSuffix(strings.TrimSuffix(m[2], "B"), "i") {
	case "K":
		v <<= 10
	case "M":
		v <<= 20
	case "G":
		v <<= 30
	}
	*b = ByteSize(v)
	return nil
}

// LoadManifest reads and validates path.
func LoadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return ParseManifest(path, data)
}

var yamlLineRE = lazy(`^line (\d+): (.*)$`)

// ParseManifest parses and validates manifest content; path names it in errors.
//
// The text is parsed once, into a node tree that gives both the lines of
// problems and the values. yaml.v3 checks unknown keys only in a decoder that
// parses the text itself, so strictCheck (manifest_strict.go) looks for them
// in the tree; when it finds one, or anything it cannot vouch for (aliases,
// merge keys), the manifest is decoded again by the strict decoder, whose
// messages and their order are then exactly those of a single strict decode.
func ParseManifest(path string, data []byte) (*Manifest, error) {
	return parseManifest(path, data, true, nil)
}

// parseManifest parses as ParseManifest does; when the YAML decodes with
// no problem, parsed (if not nil) is set to the lines of its entities, for
// the manifest cache.
func parseManifest(path string, data []byte, fromTree bool, parsed *entityLines) (*Manifest, error) {
	merr := &ManifestError{Path: path}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		merr.Problems = append(merr.Problems, yamlProblems(err)...)
		return nil, merr
	}
	if root.Kind == 0 {
		merr.Problems = append(merr.Problems, Problem{Msg: "the manifest is empty: start from `berth init`"})
		return nil, merr
	}
	m := &Manifest{Path: path}
	var err error
	if fromTree && strictCheck(&root, manifestType) {
		err = root.Decode(m)
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err = dec.Decode(m)
	}
	if err != nil {
		merr.Problems = append(merr.Problems, yamlProblems(err)...)
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, merr
		}
		// Type errors leave the rest decoded: go on, so every problem is
		// reported in one run.
	}
	lines := orderFromNode(&root, m)
	if len(merr.Problems) == 0 && parsed != nil {
		*parsed = lines
	}
	return m.finish(lines, merr)
}

// finish derives the graph and validates a decoded manifest, adding the
// problems found to those of the decode.
func (m *Manifest) finish(lines entityLines, merr *ManifestError) (*Manifest, error) {
	m.graph = NewGraph(m)
	merr.Problems = append(merr.Problems, m.validate(lines)...)
	if len(merr.Problems) > 0 {
		sort.SliceStable(merr.Problems, func(i, j int) bool { return merr.Problems[i].Line < merr.Problems[j].Line })
		return m, merr
	}
	return m, nil
}

// nodeError is how a custom unmarshaler reports a problem so that the
// decoder goes on and reports the others too.
func nodeError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)}}
}

func yamlProblems(err error) []Problem {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var out []Problem
	for _, msg := range msgs {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if sm := yamlLineRE.FindStringSubmatch(msg); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			out = append(out, Problem{Line: n, Msg: friendlyYAML(sm[2])})
		} else {
			out = append(out, Problem{Msg: friendlyYAML(msg)})
		}
	}
	return out
}

var typeNameRE = lazy(`in type metadata\.(\w+)`)

func friendlyYAML(msg string) string {
	if strings.HasPrefix(msg, "field ") && strings.Contains(msg, " not found in type ") {
		name := strings.TrimPrefix(msg, "field ")
		name = name[:strings.Index(name, " not found")]
		where := "here"
		if sm := typeNameRE.FindStringSubmatch(msg); sm != nil {
			where = "in a " + strings.ToLower(sm[1])
		}
		return fmt.Sprintf("unknown key %q %s (check its spelling against the manifest reference in README.md)", name, where)
	}
	msg = strings.ReplaceAll(msg, "!!str", "a string")
	msg = strings.ReplaceAll(msg, "!!seq", "a list")
	msg = strings.ReplaceAll(msg, "!!map", "a mapping")
	return msg
}

// entityLines maps "services.core" and the like to the line that declares it.
type entityLines map[string]int

// of is the line of key, or of its nearest enclosing key that has one
// (services.api.swarm.ports falls back to services.api.swarm).
func (l entityLines) of(key string) int {
	for {
		if n, ok := l[key]; ok {
			return n
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
}

func orderFromNode(root *yaml.Node, m *Manifest) entityLines {
	lines := entityLines{}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return lines
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		section, body := top.Content[i].Value, top.Content[i+1]
		lines[section] = top.Content[i].Line
		if body.Kind != yaml.MappingNode {
			continue
		}
		var order *[]string
		switch section {
		case "components":
			order = &m.ComponentOrder
		case "images":
			order = &m.ImageOrder
		case "services":
			order = &m.ServiceOrder
		case "hosts":
			order = &m.HostOrder
		case "tasks":
			order = &m.TaskOrder
		default:
			continue
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			name := body.Content[j].Value
			*order = append(*order, name)
			lines[section+"."+name] = body.Content[j].Line
			if v := body.Content[j+1]; v.Kind == yaml.MappingNode {
				for k := 0; k+1 < len(v.Content); k += 2 {
					lines[section+"."+name+"."+v.Content[k].Value] = v.Content[k].Line
				}
			}
		}
	}
	return lines
}
