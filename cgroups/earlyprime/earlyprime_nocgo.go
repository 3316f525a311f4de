//go:build !cgo

package earlyprime

// Without cgo there is no constructor and no priming: the moves still
// work, only slower.

// Started reports false: no constructor ran.
func Started() bool { return false }

// PrimeNow does nothing and reports false.
func PrimeNow() bool { return false }
