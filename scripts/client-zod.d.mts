export const CLASSIC_SPEC: RegExp;
export const CLASSIC_SIGNATURE: RegExp;
/** the files of app/, components/ and server/ whose first statement is "use client" */
export function clientEntries(root: string): string[];
/** the client-reachable modules that import zod classic, with the chain from the "use client" file (paths relative to root) */
export function classicImporters(root: string, entries?: string[]): { file: string; spec: string; chain: string[] }[];
/** the built browser chunks (relative to .next/) holding zod classic; throws when .next/static is missing */
export function classicChunks(root: string): string[];
/** the build's failure message, null when the browser bundles carry no zod classic */
export function checkBuild(root: string): string | null;
