/** The policy names Policy takes, as `iptables -P CHAIN NAME` does. */
export type PolicyName = 'ACCEPT' | 'DROP' | 'QUEUE' | 'RETURN';
const POLICIES: readonly PolicyName[] = ['ACCEPT', 'DROP', 'QUEUE', 'RETURN'];

/**
 * The verdict of a built-in chain for packets no rule decided on. The kernel takes ACCEPT and DROP as
 * policies; QUEUE and RETURN exist for python-iptables compatibility and are refused by the kernel.
 *
 * Equivalent to: `iptables -P INPUT DROP`
 */
export class Policy {
  /** Equivalent to: `iptables -P CHAIN ACCEPT` */
  static readonly ACCEPT = new Policy('ACCEPT');
  /** Equivalent to: `iptables -P CHAIN DROP` */
  static readonly DROP = new Policy('DROP');
  /** QUEUE: for python-iptables compatibility; the kernel refuses it as a policy. */
  static readonly QUEUE = new Policy('QUEUE');
  /** RETURN: for python-iptables compatibility; the kernel refuses it as a policy. */
  static readonly RETURN = new Policy('RETURN');

  /** The policy's name, as `iptables -P` takes it. */
  readonly name: PolicyName;

  /**
   * A policy by name; TypeError for anything but ACCEPT, DROP, QUEUE and RETURN. python-iptables: `iptc.Policy(name)`.
   */
  constructor(name: string) {
    if (typeof name !== 'string' || !(POLICIES as readonly string[]).includes(name)) {
      throw new TypeError(`Bad policy name \`${String(name)}': one of ${POLICIES.join(', ')}`);
    }
    this.name = name as PolicyName;
  }

  /** Whether the other policy (or name) is the same. */
  equals(other: Policy | string): boolean {
    return (typeof other === 'string' ? other : other?.name) === this.name;
  }

  /** The name, as `iptables -P CHAIN NAME` writes it. */
  toString(): string {
    return this.name;
  }
}
