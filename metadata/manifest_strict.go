package metadata

import (
	"reflect"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

var (
	manifestType    = reflect.TypeFor[Manifest]()
	nodeType        = reflect.TypeFor[yaml.Node]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	// yamlKeys caches, per struct type, the keys yaml.v3 maps to its fields
	// (inline structs included) or nil when the type has an inline map or
	// anything else strictCheck does not model.
	yamlKeys sync.Map // reflect.Type -> map[string]reflect.Type
)

// strictCheck reports whether decoding n into a value of type t without
// KnownFields gives what a KnownFields decoder gives: no mapping decoded into
// a struct has a key the struct lacks. It answers false whenever it cannot
// tell (aliases, merge keys, explicit tags on collections, keys that are not
// plain strings), so the caller falls back to the strict decoder. It follows
// the decoder's walk: nothing below a null, a custom unmarshaler, a
// yaml.Node or an interface is checked, because the decoder checks nothing
// there either.
func strictCheck(n *yaml.Node, t reflect.Type) bool {
	switch n.Kind {
	case yaml.DocumentNode:
		return len(n.Content) != 1 || strictCheck(n.Content[0], t)
	case yaml.AliasNode:
		return false
	case yaml.ScalarNode:
		return true
	}
	if n.Style&yaml.TaggedStyle != 0 {
		return false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nodeType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return true
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		return strictStruct(n, t)
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isMergeKey(n.Content[i]) || !strictCheck(n.Content[i+1], t.Elem()) {
				return false
			}
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for _, item := range n.Content {
			if !strictCheck(item, t.Elem()) {
				return false
			}
		}
	}
	// Any other pairing is a type error the decoder reports without looking
	// inside the node.
	return true
}

func strictStruct(n *yaml.Node, t reflect.Type) bool {
	keys := structKeys(t)
	if keys == nil {
		return false
	}
	var seen map[string]bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" || isMergeKey(k) {
			return false
		}
		ft, ok := keys[k.Value]
		if !ok {
			return false
		}
		// The decoder decodes the first of duplicated keys and reports the
		// others without looking inside them.
		if seen[k.Value] {
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[k.Value] = true
		if !strictCheck(n.Content[i+1], ft) {
			return false
		}
	}
	return true
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<"
}

// structKeys names the keys of struct type t the way yaml.v3 does: the tag's
// name, else the field's name in lower case; "-" and unexported fields are
// left out; ",inline" structs lend their keys.
func structKeys(t reflect.Type) map[string]reflect.Type {
	if v, ok := yamlKeys.Load(t); ok {
		return v.(map[string]reflect.Type)
	}
	keys := map[string]reflect.Type{}
	if !addStructKeys(keys, t) {
		keys = nil
	}
	yamlKeys.Store(t, keys)
	return keys
}

func addStructKeys(keys map[string]reflect.Type, t reflect.Type) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(f.Tag), ":") {
			tag = string(f.Tag)
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			if f.Type.Kind() != reflect.Struct || !addStructKeys(keys, f.Type) {
				return false
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys[name] = f.Type
	}
	return true
}
