package main

import (
	"errors"
	"reflect"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
)

// jsonError is what -o json prints on stdout when a command fails before it
// has printed its document: the message, and what it concerns when the
// error says so. The exit code is the same as without -o json.
type jsonError struct {
	Error     string `json:"error"`
	Service   string `json:"service,omitempty"`
	Component string `json:"component,omitempty"`
	Image     string `json:"image,omitempty"`
	ExitCode  int    `json:"exit_code"`
}

// wantsJSON says whether the command that ran was asked for -o json.
func wantsJSON(c *cobra.Command) bool {
	if c == nil {
		return false
	}
	f := c.Flags().Lookup("output")
	return f != nil && f.Value.String() == string(outputJSON)
}

// newJSONError describes err. Errors name what they concern in fields
// called Service, Component or Image (runtime.StartFailedError,
// metadata.NotInstalledError, ...); the first such field along the chain
// of wrapped errors is taken.
func newJSONError(err error, code int) jsonError {
	je := jsonError{Error: err.Error(), ExitCode: code}
	var us *metadata.UnknownServiceError
	if errors.As(err, &us) {
		je.Service = us.Name
	}
	walkErrors(err, func(e error) {
		v := reflect.ValueOf(e)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return
		}
		for field, dst := range map[string]*string{"Service": &je.Service, "Component": &je.Component, "Image": &je.Image} {
			if f := v.FieldByName(field); f.IsValid() && f.Kind() == reflect.String && *dst == "" {
				*dst = f.String()
			}
		}
	})
	return je
}

// walkErrors calls fn on err and every error it wraps, depth first.
func walkErrors(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walkErrors(u.Unwrap(), fn)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkErrors(e, fn)
		}
	}
}
