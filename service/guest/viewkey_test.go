package guest

import (
	"reflect"
	"testing"
)

// TestViewKeyCoversView changes every field of a View, one at a time, and
// checks that viewKey changes: a field added to View and left out of the
// key would let Compose keep a frame drawn from the old value.
func TestViewKeyCoversView(t *testing.T) {
	base := func() *View {
		return &View{
			Panes:   []PaneView{{ID: 1, Screen: newFake(2, 2)}},
			Windows: []WindowView{{Name: "w"}},
			Local:   LocalView{List: []string{"line"}},
		}
	}
	var f Frame
	want := f.viewKey(base(), 80, 24)
	if f.viewKey(base(), 80, 24) != want {
		t.Fatal("the same view hashes differently")
	}
	n := 0
	var visit func(path string, get func(*View) reflect.Value)
	visit = func(path string, get func(*View) reflect.Value) {
		fv := get(base())
		switch fv.Kind() {
		case reflect.Struct:
			for i := range fv.NumField() {
				name := fv.Type().Field(i).Name
				visit(path+"."+name, func(v *View) reflect.Value { return get(v).Field(i) })
			}
			return
		case reflect.Array:
			for i := range fv.Len() {
				visit(path+"[i]", func(v *View) reflect.Value { return get(v).Index(i) })
			}
			return
		case reflect.Slice:
			visit(path+"[0]", func(v *View) reflect.Value { return get(v).Index(0) })
		case reflect.Interface:
			if fv.Type() == reflect.TypeFor[Screen]() {
				return // compared by paneDrawn.same
			}
		}
		if path == ".StatusClock" {
			return // Compose compares it itself (Frame.clock)
		}
		v := base()
		x := get(v)
		switch x.Kind() {
		case reflect.Bool:
			x.SetBool(!x.Bool())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			x.SetInt(x.Int() + 1)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			x.SetUint(x.Uint() + 1)
		case reflect.String:
			x.SetString(x.String() + "x")
		case reflect.Slice:
			x.Set(reflect.Append(x, x.Index(0)))
		default:
			t.Fatalf("%s: a %s, which the test cannot change: teach it and viewKey", path, x.Kind())
		}
		n++
		if f.viewKey(v, 80, 24) == want {
			t.Errorf("changing View%s leaves viewKey the same", path)
		}
	}
	visit("", func(v *View) reflect.Value { return reflect.ValueOf(v).Elem() })
	if n < 40 {
		t.Fatalf("changed only %d fields", n)
	}
	v := base()
	v.Local.List = nil
	if f.viewKey(v, 80, 24) == f.viewKey(&View{Panes: v.Panes, Windows: v.Windows, Local: LocalView{List: []string{}}}, 80, 24) {
		t.Error("no key list and an empty one hash the same")
	}
	if f.viewKey(base(), 81, 24) == want || f.viewKey(base(), 80, 25) == want {
		t.Error("the guest's size is not in the key")
	}
}
