package libcontainer

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
)

// The bootstrap crosses the sync socket in a binary form of its own: the
// runtime and the init are the same executable, so each Go type's field
// order is the layout and nothing needs naming. encoding/json, decoding a
// bootstrap cold in the init, first builds its caches for every type the
// bootstrap can reach (field lists and encoders: specs.Process, Mount,
// Hook, LinuxDevice...), about 0.35 ms of the init's CPU on the path to
// ready (perf, issue 8); walking the value with reflect costs a tenth.
//
// The walk covers every field of every type, so a field runtime-spec adds
// travels without code here. Kinds it cannot encode (interfaces, funcs,
// channels, unexported fields) are an error, not a silent omission; a
// type with hidden state implements encoding.BinaryMarshaler (the
// seccomp filter).

// bootstrapMagic starts a bootstrap frame; JSON frames start with '{'.
const bootstrapMagic = 0xb5

func encodeBootstrap(b *bootstrap) ([]byte, error) {
	w := &planWriter{buf: []byte{bootstrapMagic}}
	if err := encodeValue(w, reflect.ValueOf(b).Elem()); err != nil {
		return nil, fmt.Errorf("encode bootstrap: %w", err)
	}
	return w.buf, nil
}

func decodeBootstrap(data []byte) (*bootstrap, error) {
	if len(data) == 0 || data[0] != bootstrapMagic {
		return nil, errors.New("decode bootstrap: not a bootstrap frame")
	}
	r := &planReader{buf: data[1:]}
	b := new(bootstrap)
	err := decodeValue(r, reflect.ValueOf(b).Elem())
	if err == nil && len(r.buf) != 0 {
		err = fmt.Errorf("%d bytes left over", len(r.buf))
	}
	if err != nil {
		return nil, fmt.Errorf("decode bootstrap: %w", err)
	}
	return b, nil
}

var (
	binaryMarshalerType   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

func encodeValue(w *planWriter, v reflect.Value) error {
	if v.Kind() == reflect.Pointer && v.Type().Implements(binaryMarshalerType) {
		w.flag(v.IsNil())
		if v.IsNil() {
			return nil
		}
		data, err := v.Interface().(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return err
		}
		w.bytes(data)
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		w.flag(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.u64(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		w.u64(v.Uint())
	case reflect.String:
		w.str(v.String())
	case reflect.Pointer:
		w.flag(v.IsNil())
		if !v.IsNil() {
			return encodeValue(w, v.Elem())
		}
	case reflect.Slice:
		// nil and empty stay apart, as they do for the code reading them.
		w.flag(v.IsNil())
		w.u32(uint32(v.Len()))
		for i := 0; i < v.Len(); i++ {
			if err := encodeValue(w, v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		w.flag(v.IsNil())
		w.u32(uint32(v.Len()))
		for it := v.MapRange(); it.Next(); {
			if err := encodeValue(w, it.Key()); err != nil {
				return err
			}
			if err := encodeValue(w, it.Value()); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() {
				return fmt.Errorf("%v.%s: unexported field", t, t.Field(i).Name)
			}
			if err := encodeValue(w, v.Field(i)); err != nil {
				return fmt.Errorf("%v.%s: %w", t, t.Field(i).Name, err)
			}
		}
	default:
		return fmt.Errorf("cannot encode a %v", v.Type())
	}
	return nil
}

func decodeValue(r *planReader, v reflect.Value) error {
	if v.Kind() == reflect.Pointer && v.Type().Implements(binaryUnmarshalerType) {
		if r.flag() {
			return r.err
		}
		data := r.bytes()
		if r.err != nil {
			return r.err
		}
		p := reflect.New(v.Type().Elem())
		if err := p.Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(data); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.flag())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(r.u64()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(r.u64())
	case reflect.String:
		v.SetString(r.str())
	case reflect.Pointer:
		if r.flag() || r.err != nil {
			return r.err
		}
		p := reflect.New(v.Type().Elem())
		if err := decodeValue(r, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Slice:
		isNil, n := r.flag(), r.count()
		if isNil || r.err != nil {
			return r.err
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			if err := decodeValue(r, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Map:
		isNil, n := r.flag(), r.count()
		if isNil || r.err != nil {
			return r.err
		}
		m := reflect.MakeMapWithSize(v.Type(), n)
		for i := 0; i < n; i++ {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(r, k); err != nil {
				return err
			}
			if err := decodeValue(r, e); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() {
				return fmt.Errorf("%v.%s: unexported field", t, t.Field(i).Name)
			}
			if err := decodeValue(r, v.Field(i)); err != nil {
				return fmt.Errorf("%v.%s: %w", t, t.Field(i).Name, err)
			}
		}
	default:
		return fmt.Errorf("cannot decode a %v", v.Type())
	}
	return r.err
}

// planReader reads what planWriter wrote; the first short read sticks as
// the error and every later read returns zero values.
type planReader struct {
	buf []byte
	err error
}

func (r *planReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf) {
		r.err = errors.New("truncated")
		return nil
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *planReader) flag() bool {
	b := r.take(1)
	return b != nil && b[0] != 0
}

func (r *planReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.NativeEndian.Uint32(b)
	}
	return 0
}

func (r *planReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.NativeEndian.Uint64(b)
	}
	return 0
}

// count reads a length, refusing one longer than what is left (every
// element takes a byte at least): a damaged frame cannot ask for a huge
// allocation.
func (r *planReader) count() int {
	n := int(r.u32())
	if r.err == nil && n > len(r.buf) {
		r.err = errors.New("truncated")
		return 0
	}
	return n
}

func (r *planReader) str() string { return string(r.take(r.count())) }

func (r *planReader) bytes() []byte { return r.take(r.count()) }
