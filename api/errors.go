package api

import "fmt"

// FieldError is a validation error naming the offending input field (a flag
// name such as "--mem", or a JSON field) and what is accepted there.
type FieldError struct {
	Field string // e.g. "--mem" or "partition"
	Value string // the rejected value, as given
	Msg   string // what is wrong and what is accepted
}

// Error implements error: `invalid --mem "-5": must be a positive size such as 4G`.
func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Msg)
}
