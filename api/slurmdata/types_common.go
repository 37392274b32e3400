package slurmdata

// Uint64NoVal is slurmrestd's v0.0.41_uint64_no_val_struct.
type Uint64NoVal struct {
	// True if number has been set; False if number is unset
	Set bool `json:"set" yaml:"set"`
	// True if number has been set to infinite; "set" and "number" will be ignored
	Infinite bool `json:"infinite" yaml:"infinite"`
	// If "set" is True the number will be set with value; otherwise ignore number contents
	Number int64 `json:"number" yaml:"number"`
}

// Uint32NoVal is slurmrestd's v0.0.41_uint32_no_val_struct.
type Uint32NoVal struct {
	// True if number has been set; False if number is unset
	Set bool `json:"set" yaml:"set"`
	// True if number has been set to infinite; "set" and "number" will be ignored
	Infinite bool `json:"infinite" yaml:"infinite"`
	// If "set" is True the number will be set with value; otherwise ignore number contents
	Number int64 `json:"number" yaml:"number" oas:"format=int32"`
}

// Uint16NoVal is slurmrestd's v0.0.41_uint16_no_val_struct.
type Uint16NoVal struct {
	// True if number has been set; False if number is unset
	Set bool `json:"set" yaml:"set"`
	// True if number has been set to infinite; "set" and "number" will be ignored
	Infinite bool `json:"infinite" yaml:"infinite"`
	// If "set" is True the number will be set with value; otherwise ignore number contents
	Number int64 `json:"number" yaml:"number" oas:"format=int32"`
}

// Float64NoVal is slurmrestd's v0.0.41_float64_no_val_struct.
type Float64NoVal struct {
	// True if number has been set; False if number is unset
	Set bool `json:"set" yaml:"set"`
	// True if number has been set to infinite; "set" and "number" will be ignored
	Infinite bool `json:"infinite" yaml:"infinite"`
	// If "set" is True the number will be set with value; otherwise ignore number contents
	Number float64 `json:"number" yaml:"number"`
}

// ProcessExitCodeVerboseSignal is an object inline in Slurm's schema.
type ProcessExitCodeVerboseSignal struct {
	// Signal sent to process (numeric)
	ID Uint16NoVal `json:"id" yaml:"id"`
	// Signal sent to process
	Name string `json:"name" yaml:"name"`
}

// ProcessExitCodeVerbose is slurmrestd's v0.0.41_process_exit_code_verbose.
type ProcessExitCodeVerbose struct {
	// Status given by return code
	Status []string `json:"status" yaml:"status" oas:"enum=exit_status"`
	// Process return code (numeric)
	ReturnCode Uint32NoVal                  `json:"return_code" yaml:"return_code"`
	Signal     ProcessExitCodeVerboseSignal `json:"signal" yaml:"signal"`
}

// CSVString is slurmrestd's v0.0.41_csv_string.
type CSVString []string

// MetaPlugin is an object inline in Slurm's schema.
type MetaPlugin struct {
	// Slurm plugin type (if applicable)
	Type string `json:"type" yaml:"type"`
	// Slurm plugin name (if applicable)
	Name string `json:"name" yaml:"name"`
	// Slurm data_parser plugin
	DataParser string `json:"data_parser" yaml:"data_parser"`
	// Slurm accounting plugin
	AccountingStorage string `json:"accounting_storage" yaml:"accounting_storage"`
}

// MetaClient is an object inline in Slurm's schema.
type MetaClient struct {
	// Client source description
	Source string `json:"source" yaml:"source"`
	// Client user (if known)
	User string `json:"user" yaml:"user"`
	// Client group (if known)
	Group string `json:"group" yaml:"group"`
}

// MetaSlurmVersion is an object inline in Slurm's schema.
type MetaSlurmVersion struct {
	// Slurm release major version
	Major string `json:"major" yaml:"major"`
	// Slurm release micro version
	Micro string `json:"micro" yaml:"micro"`
	// Slurm release minor version
	Minor string `json:"minor" yaml:"minor"`
}

// MetaSlurm is an object inline in Slurm's schema.
type MetaSlurm struct {
	Version MetaSlurmVersion `json:"version" yaml:"version"`
	// Slurm release string
	Release string `json:"release" yaml:"release"`
	// Slurm cluster name
	Cluster string `json:"cluster" yaml:"cluster"`
}

// Meta is slurmrestd's v0.0.41_openapi_meta.
type Meta struct {
	Plugin MetaPlugin `json:"plugin" yaml:"plugin"`
	Client MetaClient `json:"client" yaml:"client"`
	// CLI command (if applicable)
	Command StringArray `json:"command" yaml:"command"`
	Slurm   MetaSlurm   `json:"slurm" yaml:"slurm"`
}

// StringArray is slurmrestd's v0.0.41_string_array.
type StringArray []string

// Errors is slurmrestd's v0.0.41_openapi_errors.
type Errors []Error

// Error is slurmrestd's v0.0.41_openapi_error.
type Error struct {
	// Long form error description
	Description string `json:"description" yaml:"description"`
	// Slurm numeric error identifier
	ErrorNumber int32 `json:"error_number" yaml:"error_number"`
	// Short form error description
	Error string `json:"error" yaml:"error"`
	// Source of error or where error was first detected
	Source string `json:"source" yaml:"source"`
}

// Warnings is slurmrestd's v0.0.41_openapi_warnings.
type Warnings []Warning

// Warning is slurmrestd's v0.0.41_openapi_warning.
type Warning struct {
	// Long form warning description
	Description string `json:"description" yaml:"description"`
	// Source of warning or where warning was first detected
	Source string `json:"source" yaml:"source"`
}

// AcctGatherEnergy is slurmrestd's v0.0.41_acct_gather_energy.
type AcctGatherEnergy struct {
	// Average power consumption, in watts
	AverageWatts int32 `json:"average_watts" yaml:"average_watts"`
	// The energy consumed between when the node was powered on and the last time it was registered by slurmd, in joules
	BaseConsumedEnergy int64 `json:"base_consumed_energy" yaml:"base_consumed_energy"`
	// The energy consumed between the last time the node was registered by the slurmd daemon and the last node energy accounting sample, in joules
	ConsumedEnergy int64 `json:"consumed_energy" yaml:"consumed_energy"`
	// The instantaneous power consumption at the time of the last node energy accounting sample, in watts
	CurrentWatts Uint32NoVal `json:"current_watts" yaml:"current_watts"`
	// Previous value of consumed_energy
	PreviousConsumedEnergy int64 `json:"previous_consumed_energy" yaml:"previous_consumed_energy"`
	// Time when energy data was last retrieved (UNIX timestamp)
	LastCollected int64 `json:"last_collected" yaml:"last_collected"`
}

// HostlistString is slurmrestd's v0.0.41_hostlist_string.
type HostlistString []string
