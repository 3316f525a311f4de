package libcontainer

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-runtime/skiff/libcontainer/seccomp"
)

// fill sets every field reachable from v to a value that is not its
// zero value, so a round trip that drops or mixes up any field, at any
// depth, shows. Slices and maps get two entries; n makes values differ.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(-*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.String:
		v.SetString(strings.Repeat("x", *n%7) + "s" + string(rune('a'+*n%26)))
	case reflect.Pointer:
		if v.Type() == reflect.TypeFor[*seccomp.Filter]() {
			// A program of one instruction (ret allow) and flags 5.
			raw := binary.NativeEndian.AppendUint64([]byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f}, 5)
			var f seccomp.Filter
			if err := f.UnmarshalBinary(raw); err != nil {
				t.Fatal(err)
			}
			v.Set(reflect.ValueOf(&f))
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), n)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(t, s.Index(0), n)
		fill(t, s.Index(1), n)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i < 2; i++ {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(t, k, n)
			fill(t, e, n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(t, v.Field(i), n)
		}
	default:
		t.Fatalf("fill: %v", v.Type())
	}
}

// filledBootstrap returns a bootstrap with every field set, and its frame.
func filledBootstrap(t *testing.T) (*bootstrap, []byte) {
	t.Helper()
	b := new(bootstrap)
	n := 0
	fill(t, reflect.ValueOf(b).Elem(), &n)
	data, err := encodeBootstrap(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, data
}

func TestBootstrapCodecKeepsEveryField(t *testing.T) {
	b, data := filledBootstrap(t)
	back, err := decodeBootstrap(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, b) {
		t.Fatalf("changed in a round trip:\n got %+v\nwant %+v", back, b)
	}
}

// nil and empty slices and maps, and nil pointers, stay what they were.
func TestBootstrapCodecKeepsNilApartFromEmpty(t *testing.T) {
	b := &bootstrap{
		Spec:    &initSpec{MaskedPaths: []string{}, Sysctl: map[string]string{}},
		Process: nil,
	}
	data, err := encodeBootstrap(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeBootstrap(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, b) || back.Spec.MaskedPaths == nil || back.Spec.ReadonlyPaths != nil || back.Process != nil {
		t.Fatalf("got %+v", back)
	}
}

// A damaged frame is an error, whatever its length, never a panic or a
// huge allocation.
func TestBootstrapCodecRefusesDamagedFrames(t *testing.T) {
	_, data := filledBootstrap(t)
	for i := 0; i < len(data); i++ {
		if _, err := decodeBootstrap(data[:i]); err == nil {
			t.Fatalf("a frame cut at %d of %d bytes decoded", i, len(data))
		}
	}
	if _, err := decodeBootstrap(append(append([]byte(nil), data...), 0)); err == nil {
		t.Fatal("a frame with a byte too many decoded")
	}
	// Mode "", Spec set, its Root nil, its Mounts claiming 4G entries.
	w := &planWriter{buf: []byte{bootstrapMagic}}
	w.str("")
	w.flag(false)
	w.flag(true)
	w.flag(false)
	w.u32(^uint32(0))
	w.buf = append(w.buf, make([]byte, 64)...)
	if _, err := decodeBootstrap(w.buf); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a length past the frame: %v", err)
	}
}

func TestBootstrapCodecRefusesWhatItCannotCarry(t *testing.T) {
	type withFunc struct{ F func() }
	w := &planWriter{}
	if err := encodeValue(w, reflect.ValueOf(withFunc{})); err == nil {
		t.Error("a func field encoded")
	}
	type hidden struct{ x int }
	if err := encodeValue(w, reflect.ValueOf(hidden{})); err == nil {
		t.Error("an unexported field encoded")
	}
}
