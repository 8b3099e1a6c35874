/**
 * Trivy writes a vulnerability's package into its SARIF result message (pkg/report/sarif.go:
 * "Package: openssl\nInstalled Version: …\nFixed Version: …"); GitHub code scanning shows that message
 * as the alert's. Read back, it makes the alert a package's vulnerability again.
 */
export function packageFromMessage(text: string | undefined): { name: string; installed?: string; fixed?: string } | undefined {
  const name = text && /^Package: (.+)$/m.exec(text)?.[1]?.trim();
  if (!name) return undefined;
  const field = (label: string) => new RegExp(`^${label}: (.*)$`, 'm').exec(text!)?.[1]?.trim() || undefined;
  return { name, installed: field('Installed Version'), fixed: field('Fixed Version') };
}
