/**
 * Starting the first timeline request early: an inline script placed right
 * after the (server-rendered) chart placeholder measures the chart's width and
 * fires the request while the page's JavaScript is still loading; useTimeline
 * takes the answer if it asked for the same thing (api.takePrefetchedTimeline).
 * The script repeats parseRange's rules in plain JavaScript; a disagreement
 * only means the answer is not used (the keys differ), never a wrong chart.
 */
import { DEFAULT_PRESET, MAX_SPAN_MS, PRESETS, type RangeSpec } from "./range";

/** the server aggregates for the chart width, rounded up so small resizes reuse the same answer */
export const WIDTH_STEP = 50;
export const widthBucket = (w: number) => (w <= 0 ? 0 : Math.max(WIDTH_STEP, Math.ceil(w / WIDTH_STEP) * WIDTH_STEP));

/** What a timeline answer was asked for: cluster, range, width bucket. */
export const timelineKey = (cluster: string, spec: RangeSpec, width: number) =>
  `${cluster}|${spec.kind === "live" ? spec.preset : `${spec.from}-${spec.to}`}|${width}`;

/** Attribute of the element whose width the chart gets. */
export const PLOT_ATTR = "data-timeline-plot";

/** JSON that is safe inside a <script> element. */
const js = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

export function prefetchScript(cluster: string): string {
  return `(function(){try{
var C=${js(cluster)},P=${js(PRESETS)},D=${js(DEFAULT_PRESET)},MAX=${MAX_SPAN_MS},STEP=${WIDTH_STEP};
var el=document.querySelector("[${PLOT_ATTR}]");if(!el)return;
var w=Math.floor(el.getBoundingClientRect().width);if(w<=0)return;
var b=Math.max(STEP,Math.ceil(w/STEP)*STEP);
var q=new URLSearchParams(location.search),r=q.get("range"),now=Date.now(),from,to=null,spec;
if(r&&Object.prototype.hasOwnProperty.call(P,r)){spec=r;from=now-P[r];}
else{var f=Date.parse(q.get("from")||""),t=Date.parse(q.get("to")||"");
if(isFinite(f)&&isFinite(t)&&f<t&&t-f<=MAX){spec=f+"-"+t;from=f;to=t;}else{spec=D;from=now-P[D];}}
var u=new URLSearchParams({from:new Date(from).toISOString(),width:String(b),evidence:"none"});if(to!==null)u.set("to",new Date(to).toISOString());
window.__kamTimelinePrefetch={key:C+"|"+spec+"|"+b,answer:fetch("/api/clusters/"+encodeURIComponent(C)+"/timeline?"+u,{cache:"no-store",headers:{accept:"application/json"}}).then(function(res){return res.text().then(function(text){return{status:res.status,text:text};});})};
}catch(e){}})();`;
}
