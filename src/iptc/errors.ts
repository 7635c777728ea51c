/** A rule spec iptables itself would refuse; the message is iptables' own where it has one. */
export class RuleSyntaxError extends TypeError {
  /** Always `'RuleSyntaxError'`. */
  override readonly name = 'RuleSyntaxError';
}
