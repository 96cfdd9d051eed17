// A minimal libcni client, the library containerd, CRI-O and Podman's CNI backend are built on:
// runs ADD, CHECK, DEL or GC of a network config list, as a runtime would, and prints the result.
// Used by the drop-in tests to prove ctnet's plugins work under the real client, not only ours.
//
// usage: libcni-driver add|check|del|status CONFLIST CONTAINERID NETNS IFNAME [CAPABILITY_ARGS_JSON]
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	if len(os.Args) < 6 {
		fmt.Fprintln(os.Stderr, "usage: libcni-driver add|check|del CONFLIST CONTAINERID NETNS IFNAME [CAPABILITY_ARGS_JSON]")
		os.Exit(2)
	}
	cmd, file, id, netns, ifname := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	list, err := libcni.ConfListFromFile(file)
	if err != nil {
		fail(err)
	}
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname, Args: [][2]string{{"IgnoreUnknown", "1"}}}
	if len(os.Args) > 6 {
		caps := map[string]interface{}{}
		if err := json.Unmarshal([]byte(os.Args[6]), &caps); err != nil {
			fail(err)
		}
		rt.CapabilityArgs = caps
	}
	cacheDir := os.Getenv("CNI_CACHE_DIR")
	if cacheDir == "" {
		cacheDir = filepath.Join(os.TempDir(), "libcni-cache")
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(os.Getenv("CNI_PATH"), ":"), cacheDir, nil)
	ctx := context.Background()
	switch cmd {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
	case "check":
		err = cni.CheckNetworkList(ctx, list, rt)
	case "del":
		err = cni.DelNetworkList(ctx, list, rt)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
