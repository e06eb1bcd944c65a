package openapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// reflector turns Go types into JSON Schema 2020-12 (the dialect of OpenAPI
// 3.1) by encoding/json's rules, so that the schema describes what
// json.Marshal writes: a field's JSON name from its tag, omitempty and
// omitzero fields optional, the others required, a pointer without omitempty
// nullable, embedded structs' fields promoted. Named struct types become
// components, referenced by $ref. Fields may carry `doc:"…"` (a description)
// and `enum:"a,b"` (the allowed values) tags.
//
// kin-openapi's own generator (openapi3gen) writes OpenAPI 3.0 schemas
// (nullable, no required fields), hence this one.
type reflector struct {
	schemas openapi3.Schemas
	names   map[reflect.Type]string
	taken   map[string]reflect.Type
	// input describes request bodies: structs are inlined (a handler's input
	// type is its own) and a field is required only when tagged
	// `required:"true"`, since decoding leaves absent members zero.
	input bool
}

// inputs returns the reflector of request bodies sharing r's components.
func (r *reflector) inputs() *reflector {
	return &reflector{schemas: r.schemas, names: r.names, taken: r.taken, input: true}
}

func newReflector() *reflector {
	return &reflector{schemas: openapi3.Schemas{}, names: map[reflect.Type]string{}, taken: map[string]reflect.Type{}}
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	durationType  = reflect.TypeFor[time.Duration]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	numberType    = reflect.TypeFor[json.Number]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

func types(t ...string) *openapi3.Types { tt := openapi3.Types(t); return &tt }

// ref returns the schema of t.
func (r *reflector) ref(t reflect.Type) *openapi3.SchemaRef {
	switch {
	case t == timeType:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string"), Format: "date-time"})
	case t == rawType:
		return openapi3.NewSchemaRef("", &openapi3.Schema{})
	case t == numberType:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("number")})
	case t == durationType:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("integer"), Description: "nanoseconds"})
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
			return openapi3.NewSchemaRef("", &openapi3.Schema{})
		}
		if t.Implements(textType) || reflect.PointerTo(t).Implements(textType) {
			return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string")})
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(r.ref(t.Elem()))
	case reflect.Interface:
		return openapi3.NewSchemaRef("", &openapi3.Schema{})
	case reflect.Bool:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("boolean")})
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("integer")})
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		zero := 0.0
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("integer"), Min: &zero})
	case reflect.Float32, reflect.Float64:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("number")})
	case reflect.String:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string")})
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string"), Format: "byte"})
		}
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("array"), Items: r.ref(t.Elem())})
	case reflect.Map:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("object"),
			AdditionalProperties: openapi3.AdditionalProperties{Schema: r.ref(t.Elem())}})
	case reflect.Struct:
		if t.Name() == "" || r.input {
			return openapi3.NewSchemaRef("", r.object(t))
		}
		name, ok := r.names[t]
		if !ok {
			name = r.name(t)
			r.names[t] = name
			r.schemas[name] = openapi3.NewSchemaRef("", &openapi3.Schema{}) // a placeholder for cycles
			r.schemas[name].Value = r.object(t)
		}
		return openapi3.NewSchemaRef("#/components/schemas/"+name, r.schemas[name].Value)
	}
	return openapi3.NewSchemaRef("", &openapi3.Schema{})
}

// name is t's component name: its own name, or its package's and its own
// when another type has it already.
func (r *reflector) name(t reflect.Type) string {
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 { // a generic type's instance
		name = name[:i] + "Of" + strings.NewReplacer("[", "", "]", "", ".", "", "/", "", "*", "", ",", "").Replace(name[i:])
	}
	if other, ok := r.taken[name]; ok && other != t {
		pkg := t.PkgPath()
		pkg = pkg[strings.LastIndexByte(pkg, '/')+1:]
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	r.taken[name] = t
	return name
}

// object is the schema of struct type t's JSON object.
func (r *reflector) object(t reflect.Type) *openapi3.Schema {
	s := &openapi3.Schema{Type: types("object"), Properties: openapi3.Schemas{}}
	r.fields(t, s)
	return s
}

func (r *reflector) fields(t reflect.Type, s *openapi3.Schema) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				r.fields(et, s) // promoted, as encoding/json does
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		var p *openapi3.SchemaRef
		switch {
		case strings.Contains(","+opts+",", ",string,"):
			p = openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("string")})
		case ft.Kind() == reflect.Pointer && optional:
			p = r.ref(ft.Elem()) // absent when nil, never null
		default:
			p = r.ref(ft)
		}
		doc, enum := f.Tag.Get("doc"), f.Tag.Get("enum")
		if doc != "" || enum != "" {
			p = annotate(p, doc, enum)
		}
		s.Properties[name] = p
		if r.input {
			optional = f.Tag.Get("required") != "true"
		}
		if !optional {
			s.Required = append(s.Required, name)
		}
	}
}

// annotate returns p with a description and allowed values.
func annotate(p *openapi3.SchemaRef, doc, enum string) *openapi3.SchemaRef {
	var v openapi3.Schema
	if p.Ref != "" {
		v = openapi3.Schema{AllOf: openapi3.SchemaRefs{p}}
	} else {
		v = *p.Value
	}
	v.Description = doc
	if enum != "" {
		for e := range strings.SplitSeq(enum, ",") {
			v.Enum = append(v.Enum, e)
		}
		if v.Type.Includes("null") {
			v.Enum = append(v.Enum, nil)
		}
	}
	return openapi3.NewSchemaRef("", &v)
}

// nullable returns p, allowing null too.
func nullable(p *openapi3.SchemaRef) *openapi3.SchemaRef {
	if p.Ref != "" || p.Value.Type == nil {
		if p.Value != nil && p.Ref == "" && p.Value.Type == nil {
			return p // any value, null included
		}
		return openapi3.NewSchemaRef("", &openapi3.Schema{AnyOf: openapi3.SchemaRefs{p,
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: types("null")})}})
	}
	v := *p.Value
	if !v.Type.Includes("null") {
		tt := append(openapi3.Types{}, *v.Type...)
		v.Type = types(append(tt, "null")...)
	}
	return openapi3.NewSchemaRef("", &v)
}
