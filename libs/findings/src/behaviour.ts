/*
 * Runtime behaviours by their own name. Falco calls a shell spawned by the app "Run shell untrusted",
 * StackRox "Shell Spawned by Java Application", Tetragon just reports an exec of /bin/sh: one event, three
 * words. A runtime finding's fingerprint uses the behaviour when a sensor's event is one of these, so the
 * same behaviour on the same workload is one finding with a source per sensor (DESIGN "Fingerprints").
 * Categories follow the hardening each calls for (libs/feedback rules): a shell, a package manager, a
 * write below a binary directory, … Anything else keeps the sensor's own rule.
 */
export const BEHAVIOURS = [
  'shell-in-container',
  'package-manager',
  'network-tool',
  'write-below-binary-dir',
  'write-below-etc',
  'read-sensitive-file',
  'crypto-miner',
] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/** What a sensor saw, in its own words and as facts; each parser fills what its format carries. */
export interface Observation {
  /** The sensor's rule or policy name. */
  rule?: string;
  /** The binary that ran (exec) or acted (file access). */
  binary?: string;
  /** A file the process opened, and how. */
  file?: { path: string; access: 'read' | 'write' };
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh', 'csh', 'tcsh', 'fish']);
const PACKAGE_MANAGERS = new Set(['apt', 'apt-get', 'aptitude', 'dpkg', 'apk', 'yum', 'dnf', 'microdnf', 'rpm', 'zypper', 'pip', 'pip3', 'npm', 'gem']);
const NETWORK_TOOLS = new Set(['nc', 'ncat', 'netcat', 'nmap', 'socat', 'tcpdump']);
const MINERS = new Set(['xmrig', 'minerd', 'cpuminer', 'ccminer']);
// Falco's bin_dir and sensitive_file_names macros (falco_rules.yaml).
const BINARY_DIRS = ['/bin/', '/sbin/', '/usr/bin/', '/usr/sbin/', '/usr/local/bin/', '/usr/local/sbin/'];
const SENSITIVE_FILES = ['/etc/shadow', '/etc/sudoers', '/etc/pam.conf', '/etc/security/pwquality.conf', '/etc/gshadow'];
const SENSITIVE_DIRS = ['/etc/sudoers.d/', '/etc/pam.d/', '/root/.ssh/'];

/** Sensors' rule names, lower-cased, that name one behaviour whatever the process. */
const RULES: [RegExp, Behaviour][] = [
  // Falco (falcosecurity/rules falco_rules.yaml, falco-sandbox_rules.yaml)
  [/^(terminal shell in container|run shell untrusted|system user interactive)$/, 'shell-in-container'],
  [/^launch package management process in container$/, 'package-manager'],
  [/^(launch suspicious network tool in container|netcat remote code execution in container)$/, 'network-tool'],
  [/^write below binary dir$/, 'write-below-binary-dir'],
  [/^write below etc$/, 'write-below-etc'],
  [/^read sensitive file (untrusted|trusted after startup)$/, 'read-sensitive-file'],
  [/^detect crypto miners using the stratum protocol$/, 'crypto-miner'],
  // StackRox / ACS default runtime policies
  [/^shell spawned by .+$/, 'shell-in-container'],
  [/^.*package manager execution$/, 'package-manager'],
  [/^(netcat execution detected|nmap execution)$/, 'network-tool'],
  [/^cryptocurrency mining process execution$/, 'crypto-miner'],
];

const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1);

function byBinary(binary: string): Behaviour | undefined {
  const name = basename(binary);
  if (SHELLS.has(name)) return 'shell-in-container';
  if (PACKAGE_MANAGERS.has(name)) return 'package-manager';
  if (NETWORK_TOOLS.has(name)) return 'network-tool';
  if (MINERS.has(name)) return 'crypto-miner';
  return undefined;
}

function byFile({ path, access }: NonNullable<Observation['file']>): Behaviour | undefined {
  if (access === 'write') {
    if (BINARY_DIRS.some((dir) => path.startsWith(dir))) return 'write-below-binary-dir';
    if (path.startsWith('/etc/')) return 'write-below-etc';
    return undefined;
  }
  if (SENSITIVE_FILES.includes(path) || SENSITIVE_DIRS.some((dir) => path.startsWith(dir))) return 'read-sensitive-file';
  return undefined;
}

/**
 * The behaviour a sensor's event shows: by its rule name when the rule names one, else by what the
 * process did (the file it touched, the binary it ran). Undefined when Klaxon has no word for it.
 */
export function behaviourOf(observation: Observation): Behaviour | undefined {
  const rule = observation.rule?.toLowerCase();
  const named = rule ? RULES.find(([pattern]) => pattern.test(rule))?.[1] : undefined;
  if (named) return named;
  if (observation.file) return byFile(observation.file);
  return observation.binary ? byBinary(observation.binary) : undefined;
}
