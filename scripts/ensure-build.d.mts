export const root: string;
export function ensureBuild(): void;
export function buildAll(): void;
