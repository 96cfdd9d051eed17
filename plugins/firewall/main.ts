import { runPlugin } from '../../cni/skel.js';
import { firewallPlugin } from '../../nat/firewall-plugin.js';

runPlugin(firewallPlugin, "ctnet firewall (chained): accepts the container's traffic in FORWARD (CNI-FORWARD, CNI-ADMIN), ingressPolicy open or same-bridge");
