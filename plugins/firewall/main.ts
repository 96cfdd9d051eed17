import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../nat/firewall-plugin.js')).firewallPlugin, "ctnet firewall (chained): accepts the container's traffic in FORWARD (CNI-FORWARD, CNI-ADMIN), ingressPolicy open or same-bridge");
