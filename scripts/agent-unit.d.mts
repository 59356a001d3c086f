/** where the .deb and the install script put the agent bundle */
export const INSTALLED_BUNDLE: string;
/** agent/keepalived-agent.service's text with the installed paths, after `header` */
export function installedUnit(src: string, header: string): string;
