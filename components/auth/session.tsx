"use client";
/**
 * Who is signed in, as the server told this page (x-kam-* request headers set
 * by the custom server's gate, read in the root layout), and the session's
 * CSRF token that every state-changing request sends back.
 */
import { createContext, useContext, type ReactNode } from "react";

export type Role = "viewer" | "operator" | "admin";
export interface SessionView {
  user: string | null;
  role: Role | null;
  csrf: string | null;
  wall: boolean;
}

const Ctx = createContext<SessionView>({ user: null, role: null, csrf: null, wall: false });

export function SessionProvider({ value, children }: { value: SessionView; children: ReactNode }) {
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export const useSession = () => useContext(Ctx);

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const atLeast = (s: SessionView, role: Role) => s.role !== null && RANK[s.role] >= RANK[role];
