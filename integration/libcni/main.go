// A minimal libcni client, the library containerd, CRI-O and Podman's CNI backend are built on:
// runs ADD, CHECK, DEL, GC or STATUS of a network config list, as a runtime would, and prints the
// result. Used by the drop-in tests to prove ctnet's plugins work under the real client, not only ours.
//
// usage: libcni-driver add|check|del CONFLIST CONTAINERID NETNS IFNAME [CAPABILITY_ARGS_JSON]
//
//	libcni-driver gc CONFLIST VALID_ATTACHMENTS_JSON
//	libcni-driver status CONFLIST
//
// Debian 12's libcni is 1.1.2: no GCNetworkList or GetStatusNetworkList, and no 1.1.0 results.
// gc and status below follow libcni 1.2's functions step by step over 1.1.2's exported pieces (the
// cache files, InjectConf, the invoke package), so the plugins see exactly what libcni 1.2 sends.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
)

func main() {
	if len(os.Args) < 4 && !(len(os.Args) == 3 && os.Args[1] == "status") {
		fmt.Fprintln(os.Stderr, "usage: libcni-driver add|check|del CONFLIST CONTAINERID NETNS IFNAME [CAPABILITY_ARGS_JSON] | gc CONFLIST VALID_JSON | status CONFLIST")
		os.Exit(2)
	}
	cmd, file := os.Args[1], os.Args[2]
	list, err := libcni.ConfListFromFile(file)
	if err != nil {
		fail(err)
	}
	cacheDir := os.Getenv("CNI_CACHE_DIR")
	if cacheDir == "" {
		cacheDir = filepath.Join(os.TempDir(), "libcni-cache")
	}
	paths := strings.Split(os.Getenv("CNI_PATH"), ":")
	cni := libcni.NewCNIConfigWithCacheDir(paths, cacheDir, nil)
	ctx := context.Background()
	switch cmd {
	case "gc":
		var valid []gcAttachment
		if err := json.Unmarshal([]byte(os.Args[3]), &valid); err != nil {
			fail(err)
		}
		if err := gcNetworkList(ctx, cni, cacheDir, paths, list, valid); err != nil {
			fail(err)
		}
		return
	case "status":
		if err := statusNetworkList(ctx, paths, list); err != nil {
			fail(err)
		}
		return
	}
	if len(os.Args) < 6 {
		fail(fmt.Errorf("%s needs CONTAINERID NETNS IFNAME", cmd))
	}
	id, netns, ifname := os.Args[3], os.Args[4], os.Args[5]
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname, Args: [][2]string{{"IgnoreUnknown", "1"}}}
	if len(os.Args) > 6 {
		caps := map[string]interface{}{}
		if err := json.Unmarshal([]byte(os.Args[6]), &caps); err != nil {
			fail(err)
		}
		rt.CapabilityArgs = caps
	}
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

// gcAttachment is libcni 1.2's types.GCAttachment.
type gcAttachment struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
}

// cachedAttachment is the part of libcni's cache file (results/NETWORK-CONTAINERID-IFNAME) GC reads.
type cachedAttachment struct {
	ContainerID    string                 `json:"containerId"`
	IfName         string                 `json:"ifName"`
	NetworkName    string                 `json:"networkName"`
	CniArgs        [][2]string            `json:"cniArgs,omitempty"`
	CapabilityArgs map[string]interface{} `json:"capabilityArgs,omitempty"`
}

// gcNetworkList is libcni 1.2's GCNetworkList: DEL every cached attachment of the network that
// is not valid, then (for 1.1.0 and later) send GC with the valid attachments to every plugin.
func gcNetworkList(ctx context.Context, cni *libcni.CNIConfig, cacheDir string, paths []string, list *libcni.NetworkConfigList, valid []gcAttachment) error {
	keep := map[gcAttachment]bool{}
	for _, a := range valid {
		keep[a] = true
	}
	var errs []string
	files, _ := filepath.Glob(filepath.Join(cacheDir, "results", "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		var c cachedAttachment
		if err != nil || json.Unmarshal(data, &c) != nil || c.NetworkName != list.Name || keep[gcAttachment{c.ContainerID, c.IfName}] {
			continue
		}
		rt := &libcni.RuntimeConf{ContainerID: c.ContainerID, IfName: c.IfName, Args: c.CniArgs, CapabilityArgs: c.CapabilityArgs}
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			errs = append(errs, fmt.Sprintf("failed to delete stale attachment %s %s: %v", c.ContainerID, c.IfName, err))
		}
	}
	if gt, _ := version.GreaterThanOrEqualTo(list.CNIVersion, "1.1.0"); gt {
		inject := map[string]interface{}{
			"name":                      list.Name,
			"cniVersion":                list.CNIVersion,
			"cni.dev/valid-attachments": valid,
			"cni.dev/attachments":       valid,
		}
		for _, plugin := range list.Plugins {
			if err := invokePlugin(ctx, paths, plugin, inject, "GC"); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// statusNetworkList is libcni 1.2's GetStatusNetworkList: STATUS to every plugin (1.1.0 and
// later), stopping at the first error.
func statusNetworkList(ctx context.Context, paths []string, list *libcni.NetworkConfigList) error {
	if gt, _ := version.GreaterThanOrEqualTo(list.CNIVersion, "1.1.0"); !gt {
		return nil
	}
	for _, plugin := range list.Plugins {
		if err := invokePlugin(ctx, paths, plugin, map[string]interface{}{"name": list.Name, "cniVersion": list.CNIVersion}, "STATUS"); err != nil {
			return err
		}
	}
	return nil
}

func invokePlugin(ctx context.Context, paths []string, plugin *libcni.NetworkConfig, inject map[string]interface{}, command string) error {
	conf, err := libcni.InjectConf(plugin, inject)
	if err != nil {
		return err
	}
	exec := &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}, PluginDecoder: version.PluginDecoder{}}
	pluginPath, err := exec.FindInPath(plugin.Network.Type, paths)
	if err != nil {
		return err
	}
	args := &invoke.Args{Command: command, Path: strings.Join(paths, ":")}
	if err := invoke.ExecPluginWithoutResult(ctx, pluginPath, conf.Bytes, args, exec); err != nil {
		return fmt.Errorf("plugin type=%q failed (%s): %w", plugin.Network.Type, strings.ToLower(command), err)
	}
	return nil
}
