// The rule sets the bench measures, each as iptables-restore text and as the (chain, spec) pairs a
// program would append: uniform (one shape, only the source differs), varied (every rule its own source,
// port, comment and verdict, as fail2ban or a firewall named rule by rule makes them) and kube-proxy's
// nat table (thousands of chains, statistic, comment, mark, DNAT).

const addr = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** `-s 10.x.y.z/32 -p tcp -m tcp --dport 80 -j ACCEPT`, rule after rule. */
export function uniform(n) {
  const rules = Array.from({ length: n }, (_, i) => ['INPUT', `-s ${addr(i)}/32 -p tcp -m tcp --dport 80 -j ACCEPT`]);
  return {
    name: `uniform ${n / 1000}k`,
    table: 'filter',
    chains: [],
    rules,
    // As the bench has always restored it: the rules alone, the chains left as they are.
    text: `*filter\n${rules.map(([c, s]) => `-A ${c} ${s}`).join('\n')}\nCOMMIT\n`,
  };
}

/** Each rule its own source /24, tcp or udp port, conntrack state, comment and ACCEPT or DROP. */
export function varied(n) {
  const rules = Array.from({ length: n }, (_, i) => {
    const proto = i & 1 ? 'udp' : 'tcp';
    const src = `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;
    return [
      'INPUT',
      `-s ${src} -p ${proto} -m ${proto} --dport ${1 + (i % 65535)} -m conntrack --ctstate NEW ` +
        `-m comment --comment "rule ${i} for host-${i}" -j ${i % 3 ? 'ACCEPT' : 'DROP'}`,
    ];
  });
  return {
    name: `varied ${n / 1000}k`,
    table: 'filter',
    chains: [],
    rules,
    text: `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${rules.map(([c, s]) => `-A ${c} ${s}`).join('\n')}\nCOMMIT\n`,
  };
}

/** A 16-character chain suffix as kube-proxy makes them (a hash in base32), deterministic here. */
function suffix(kind, i) {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let x = (Math.imul(i + 1, 2654435761) ^ (kind.length * 40503)) >>> 0;
  let s = '';
  for (let k = 0; k < 16; k++) {
    x = (Math.imul(x ^ (x >>> 15), 2246822519) + k) >>> 0;
    s += chars[x & 31];
  }
  return s;
}

/** kube-proxy's nat table for `services` services of `endpoints` endpoints each (iptables mode). */
export function kubeProxy(services, endpoints = 3) {
  const chains = ['KUBE-MARK-MASQ', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-SERVICES'];
  const rules = [
    ['PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES'],
    ['OUTPUT', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES'],
    ['POSTROUTING', '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'],
    ['KUBE-MARK-MASQ', '-j MARK --set-xmark 0x4000/0x4000'],
    ['KUBE-POSTROUTING', '-m mark ! --mark 0x4000/0x4000 -j RETURN'],
    ['KUBE-POSTROUTING', '-j MARK --set-xmark 0x4000/0x0'],
    ['KUBE-POSTROUTING', '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully'],
  ];
  for (let s = 0; s < services; s++) {
    const name = `ns-${s % 50}/svc-${s}:http`;
    const ip = `10.96.${(s >> 8) & 255}.${s & 255}`;
    const port = 80 + (s % 1000);
    const svc = `KUBE-SVC-${suffix('svc', s)}`;
    chains.push(svc);
    rules.push(['KUBE-SERVICES', `-d ${ip}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport ${port} -j ${svc}`]);
    rules.push([svc, `! -s 10.244.0.0/16 -d ${ip}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport ${port} -j KUBE-MARK-MASQ`]);
    for (let e = 0; e < endpoints; e++) {
      const n = s * endpoints + e;
      const pod = `10.244.${(n >> 8) & 255}.${n & 255}`;
      const sep = `KUBE-SEP-${suffix('sep', n)}`;
      chains.push(sep);
      const left = endpoints - e;
      const statistic = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
      rules.push([svc, `-m comment --comment "${name} -> ${pod}:8080"${statistic} -j ${sep}`]);
      rules.push([sep, `-s ${pod}/32 -m comment --comment "${name}" -j KUBE-MARK-MASQ`]);
      rules.push([sep, `-p tcp -m comment --comment "${name}" -m tcp -j DNAT --to-destination ${pod}:8080`]);
    }
  }
  rules.push(['KUBE-SERVICES', '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS']);
  const builtins = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'].map((c) => `:${c} ACCEPT [0:0]`);
  const text = `*nat\n${[...builtins, ...chains.map((c) => `:${c} - [0:0]`)].join('\n')}\n${rules.map(([c, s]) => `-A ${c} ${s}`).join('\n')}\nCOMMIT\n`;
  return { name: `kube-proxy ${services / 1000}k svc`, table: 'nat', chains, rules, text };
}
