export type PolicyName = 'ACCEPT' | 'DROP' | 'QUEUE' | 'RETURN';
const POLICIES: readonly PolicyName[] = ['ACCEPT', 'DROP', 'QUEUE', 'RETURN'];

/**
 * The verdict of a built-in chain for packets no rule decided on. The kernel takes ACCEPT and DROP as
 * policies; QUEUE and RETURN exist for python-iptables compatibility and are refused by the kernel.
 *
 * Equivalent to: `iptables -P INPUT DROP`
 */
export class Policy {
  static readonly ACCEPT = new Policy('ACCEPT');
  static readonly DROP = new Policy('DROP');
  static readonly QUEUE = new Policy('QUEUE');
  static readonly RETURN = new Policy('RETURN');

  readonly name: PolicyName;

  constructor(name: string) {
    if (typeof name !== 'string' || !(POLICIES as readonly string[]).includes(name)) {
      throw new TypeError(`Bad policy name \`${String(name)}': one of ${POLICIES.join(', ')}`);
    }
    this.name = name as PolicyName;
  }

  equals(other: Policy | string): boolean {
    return (typeof other === 'string' ? other : other?.name) === this.name;
  }

  toString(): string {
    return this.name;
  }
}
