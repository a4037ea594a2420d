// argocd-health evaluates Argo CD health scripts the way Argo CD does (util/lua/lua.go in
// argoproj/argo-cd): gopher-lua with SkipOpenLibs (a script from argocd-cm runs without
// useOpenLibs unless its override sets it), then only package, base, table and a safe os
// opened; the object decoded into the global `obj`; a 1 s deadline; the returned table
// JSON-encoded with layeh.com/gopher-json; a status outside Argo CD's six becomes Unknown.
//
// Input on stdin: a JSON array of {"script": "<lua source>", "obj": {...}, "useOpenLibs": bool}.
// Output on stdout: a JSON array of {"status", "message"} or {"error"}, in the same order.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
)

type request struct {
	Script      string         `json:"script"`
	Obj         map[string]any `json:"obj"`
	UseOpenLibs bool           `json:"useOpenLibs"`
}

type result struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

var validStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

// safeOs is the part of the os library Argo CD exposes to scripts: the clock, nothing
// that touches files, processes or the environment.
func safeOs(L *lua.LState) int {
	mod := L.RegisterModule(lua.OsLibName, map[string]lua.LGFunction{
		"time": func(L *lua.LState) int {
			L.Push(lua.LNumber(time.Now().Unix()))
			return 1
		},
	})
	L.Push(mod)
	return 1
}

// toLua mirrors Argo CD's decodeValue: JSON numbers become Lua numbers, arrays become
// sequences, objects tables keyed by string.
func toLua(L *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		table := L.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(L, item))
		}
		return table
	case map[string]any:
		table := L.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetH(lua.LString(key), toLua(L, item))
		}
		return table
	}
	return lua.LNil
}

func evaluate(req request) result {
	L := lua.NewState(lua.Options{SkipOpenLibs: !req.UseOpenLibs})
	defer L.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, safeOs},
	} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), NRet: 0, Protect: true},
			lua.LString(lib.name)); err != nil {
			return result{Error: err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	L.SetContext(ctx)
	L.SetGlobal("obj", toLua(L, req.Obj))
	if err := L.DoString(req.Script); err != nil {
		return result{Error: err.Error()}
	}
	returned := L.Get(-1)
	if returned.Type() != lua.LTTable {
		return result{Error: fmt.Sprintf("expect table output from Lua script, not %s",
			returned.Type())}
	}
	encoded, err := luajson.Encode(returned)
	if err != nil {
		return result{Error: err.Error()}
	}
	var health result
	if err := json.Unmarshal(encoded, &health); err != nil {
		return result{Error: err.Error()}
	}
	if !validStatuses[health.Status] {
		return result{Status: "Unknown", Message: "Lua returned an invalid health status"}
	}
	return health
}

func main() {
	var requests []request
	if err := json.NewDecoder(os.Stdin).Decode(&requests); err != nil {
		fmt.Fprintf(os.Stderr, "argocd-health: stdin: %v\n", err)
		os.Exit(2)
	}
	results := make([]result, 0, len(requests))
	for _, req := range requests {
		results = append(results, evaluate(req))
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintf(os.Stderr, "argocd-health: %v\n", err)
		os.Exit(1)
	}
}
