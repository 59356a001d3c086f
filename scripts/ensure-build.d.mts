export const root: string;
/** builds each part (all, or those named) that is missing or older than its sources */
export function ensureBuild(only?: Array<"web UI" | "server" | "agent"> | null): void;
export function buildAll(): void;
