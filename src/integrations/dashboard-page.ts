// The dashboard page: one self-contained HTML document (inline CSS, inline JS, SVG charts; no external assets).
// Its size is checked against a budget in the tests.

/** The page served at the dashboard's root. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>turnout rollout</title>
<style>
:root{--bg:#f7f7f8;--fg:#1b1d21;--muted:#5b6270;--card:#fff;--line:#d9dce1;--ok:#137333;--bad:#b3261e;--warn:#8a5a00;--accent:#1a57c9}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;gap:16px;align-items:center;padding:12px 20px;background:var(--card);border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0}h2{font-size:14px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:14px;padding:14px 20px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.phase{font-weight:700;padding:2px 10px;border-radius:999px;background:#e8eefb;color:var(--accent)}
.phase.aborted{background:#fbe9e7;color:var(--bad)}.phase.promoted,.phase.completed{background:#e6f4ea;color:var(--ok)}.phase.paused{background:#fff4e0;color:var(--warn)}
ol.steps{display:flex;gap:6px;list-style:none;padding:0;margin:0;flex-wrap:wrap}
ol.steps li{border:1px solid var(--line);border-radius:6px;padding:4px 8px;min-width:56px;text-align:center}
ol.steps li.done{background:#e6f4ea;border-color:#a8d5b5}ol.steps li.now{background:#e8eefb;border-color:var(--accent);font-weight:700}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid var(--line);font-variant-numeric:tabular-nums}
.pass{color:var(--ok)}.fail{color:var(--bad)}.inconclusive{color:var(--warn)}
ul.log{list-style:none;margin:0;padding:0;max-height:220px;overflow:auto}ul.log li{padding:2px 0;border-bottom:1px dotted var(--line)}
time{color:var(--muted);margin-right:6px}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:end}
label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
input{font:inherit;padding:5px 8px;border:1px solid var(--line);border-radius:6px}
button{font:inherit;padding:6px 12px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.danger{background:var(--bad);border-color:var(--bad)}button:disabled{opacity:.45;cursor:not-allowed}
button:focus-visible,input:focus-visible{outline:3px solid #f4b400;outline-offset:2px}
svg{width:100%;height:120px;display:block}.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
#message{min-height:1.4em}.muted{color:var(--muted)}
</style>
</head>
<body>
<header><h1>turnout</h1><span id="phase" class="phase" role="status" aria-live="polite">connecting…</span><span id="summary" class="muted"></span></header>
<main>
<section aria-labelledby="h-steps"><h2 id="h-steps">Steps</h2><ol id="steps" class="steps"></ol><p id="position" class="muted"></p></section>
<section aria-labelledby="h-split"><h2 id="h-split">Split</h2><table><thead><tr><th scope="col">Version</th><th scope="col">Weight</th><th scope="col">req/s</th><th scope="col">Errors</th><th scope="col">p99</th></tr></thead><tbody id="split"></tbody></table><p id="revision" class="muted"></p></section>
<section aria-labelledby="h-checks"><h2 id="h-checks">Checks</h2><p id="verdict"></p><table><thead><tr><th scope="col">Criterion</th><th scope="col">Verdict</th><th scope="col">Figures</th></tr></thead><tbody id="checks"></tbody></table></section>
<section aria-labelledby="h-rate"><h2 id="h-rate">Requests per second</h2><svg id="rate" role="img" aria-label="Request rate per version"></svg><div class="legend" id="legend"></div></section>
<section aria-labelledby="h-errors"><h2 id="h-errors">Error rate</h2><svg id="errors" role="img" aria-label="Error rate per version"></svg></section>
<section aria-labelledby="h-p99"><h2 id="h-p99">p99 latency (ms)</h2><svg id="p99" role="img" aria-label="p99 latency per version"></svg></section>
<section aria-labelledby="h-controls"><h2 id="h-controls">Controls</h2>
<form id="controls" class="controls" onsubmit="return false">
<label for="token">Token<input id="token" type="password" autocomplete="off" placeholder="bearer token"></label>
<button type="button" data-action="pause">Pause</button><button type="button" data-action="resume">Resume</button>
<button type="button" data-action="promote">Promote</button><button type="button" data-action="abort" class="danger">Abort</button>
<label for="weight">Canary weight %<input id="weight" type="number" min="0" max="100" step="1" value="0" inputmode="numeric"></label>
<button type="button" data-action="weight">Set weight</button>
</form><p id="message" role="alert"></p></section>
<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2><ul id="timeline" class="log"></ul></section>
<section aria-labelledby="h-fleet"><h2 id="h-fleet">Fleet</h2><table><thead><tr><th scope="col">Instance</th><th scope="col">Revision</th><th scope="col">Last seen</th></tr></thead><tbody id="fleet"></tbody></table></section>
</main>
<script>
(function(){
"use strict";
var base=location.pathname.replace(/[^/]*$/,"");
var colors=["#1a57c9","#e8710a","#137333","#a142f4","#b3261e","#00838f"];
var history=[],last=null,$=function(id){return document.getElementById(id)};
function esc(s){return String(s).replace(/[&<>"']/g,function(c){return "&#"+c.charCodeAt(0)+";"})}
function fmt(n,d){return n==null||!isFinite(n)?"–":Number(n).toFixed(d)}
function clock(t){return new Date(t).toLocaleTimeString()}
function versionsOf(){var set={};history.forEach(function(h){Object.keys(h.versions).forEach(function(v){set[v]=1})});return Object.keys(set).sort()}
function chart(id,field,scale){
 var svg=$(id),w=300,h=110,vs=versionsOf(),max=0;
 history.forEach(function(s){vs.forEach(function(v){var x=s.versions[v];if(x&&x[field]!=null)max=Math.max(max,x[field]*scale)})});
 max=max||1;var out='<line x1="0" y1="'+h+'" x2="'+w+'" y2="'+h+'" stroke="#d9dce1"/>';
 vs.forEach(function(v,i){var pts=[];history.forEach(function(s,k){var x=s.versions[v];if(x&&x[field]!=null)pts.push((k*w/Math.max(1,history.length-1)).toFixed(1)+","+(h-(x[field]*scale)/max*(h-6)).toFixed(1))});
  if(pts.length)out+='<polyline fill="none" stroke-width="2" stroke="'+colors[i%colors.length]+'" points="'+pts.join(" ")+'"><title>'+esc(v)+'</title></polyline>'});
 out+='<text x="2" y="10" font-size="10" fill="#5b6270">'+fmt(max,max<10?2:0)+'</text>';
 svg.setAttribute("viewBox","0 0 "+w+" "+h);svg.setAttribute("preserveAspectRatio","none");svg.innerHTML=out;
}
function render(s){
 last=s;history.push({at:s.at,versions:s.versions});if(history.length>120)history.shift();
 var r=s.rollout,phase=r?r.phase:"no rollout";
 $("phase").textContent=phase;$("phase").className="phase "+phase;
 $("summary").textContent=r?(r.canary+(phase==="idle"?" not started":" at "+fmt(r.weight,0)+" %")+" · stable "+r.stable+(r.abortReason?" · "+r.abortReason:"")+(r.pauseReason?" · paused: "+r.pauseReason:"")):"";
 $("steps").innerHTML=s.steps.map(function(st,i){var c=r&&(i<r.stepIndex||phase==="promoted"||phase==="completed")?"done":r&&i===r.stepIndex&&phase!=="aborted"?"now":"";
  return '<li class="'+c+'"'+(c==="now"?' aria-current="step"':'')+'>'+(st.name?esc(st.name)+"<br>":"")+fmt(st.weight,0)+' %</li>'}).join("");
 $("position").textContent=r?("step "+Math.min(r.stepIndex+1,r.stepCount)+" of "+r.stepCount+(r.holdRemainingMs!=null?" · hold "+Math.ceil(r.holdRemainingMs/1000)+" s left":"")+" · checks "+r.checks.passed+" passed, "+r.checks.failed+" failed"):"";
 var split=(s.router&&s.router.split)||{},names=Object.keys(split).concat(Object.keys(s.versions)).filter(function(v,i,a){return a.indexOf(v)===i}).sort();
 $("split").innerHTML=names.map(function(v){var x=s.versions[v]||{};return "<tr><th scope=row>"+esc(v)+"</th><td>"+fmt(split[v],1)+" %</td><td>"+fmt(x.rate,1)+"</td><td>"+fmt(x.errorRate*100,2)+" %</td><td>"+fmt(x.p99,0)+" ms</td></tr>"}).join("");
 $("revision").textContent=s.router?"config revision "+s.router.revision:"";
 var hl=r&&r.lastHealth;$("verdict").innerHTML=hl?'<strong class="'+esc(hl.verdict)+'">'+esc(hl.verdict)+"</strong> "+esc(hl.message)+'<br><span class="muted">canary '+fmt(hl.canary.requests,0)+' req, '+fmt(hl.canary.errorPercent,2)+' % errors, p99 '+fmt(hl.canary.p99Ms,0)+' ms · stable '+fmt(hl.stable.requests,0)+' req, '+fmt(hl.stable.errorPercent,2)+' % errors, p99 '+fmt(hl.stable.p99Ms,0)+' ms</span>':'<span class="muted">no check yet</span>';
 $("checks").innerHTML=hl?hl.checks.map(function(c){return "<tr><td>"+esc(c.criterion)+"</td><td class='"+esc(c.outcome)+"'>"+esc(c.outcome)+"</td><td>actual "+fmt(c.actual,3)+" · limit "+fmt(c.limit,3)+"<br><span class=muted>"+esc(c.message)+"</span></td></tr>"}).join(""):"";
 var vs=versionsOf();$("legend").innerHTML=vs.map(function(v,i){return '<span><i style="background:'+colors[i%colors.length]+'"></i>'+esc(v)+"</span>"}).join("");
 chart("rate","rate",1);chart("errors","errorRate",100);chart("p99","p99",1);
 var items=s.timeline.map(function(e){return "<li><time>"+clock(e.at)+"</time>"+esc(e.type)+(e.reason?" ("+esc(e.reason)+")":"")+" · step "+(e.stepIndex+1)+" · "+fmt(e.weight,0)+" %</li>"})
  .concat(s.controls.map(function(c){return "<li><time>"+clock(c.at)+"</time><strong>"+esc(c.actor)+"</strong>: "+esc(c.action)+(c.weight!=null?" "+c.weight+" %":"")+(c.accepted?"":" — refused: "+esc(c.rejection||""))+"</li>"}));
 $("timeline").innerHTML=items.reverse().join("");
 $("fleet").innerHTML=s.fleet.length?s.fleet.map(function(f){return "<tr><td>"+esc(f.id)+"</td><td>"+(f.revision===undefined?"—":esc(f.revision)+(s.router&&f.revision!==s.router.revision?' <span class=inconclusive>(behind)</span>':""))+"</td><td>"+fmt(f.staleMs/1000,0)+" s ago</td></tr>"}).join(""):'<tr><td colspan=3 class=muted>one instance</td></tr>';
 Array.prototype.forEach.call(document.querySelectorAll("[data-action]"),function(b){b.disabled=s.readOnly});
 $("token").disabled=s.readOnly;if(s.readOnly)$("message").textContent="Read-only: this dashboard accepts no controls.";
}
function nonce(){var a=new Uint8Array(16);crypto.getRandomValues(a);return Array.prototype.map.call(a,function(b){return ("0"+b.toString(16)).slice(-2)}).join("")}
function act(action){
 var body={action:action,nonce:nonce(),at:Date.now()};if(action==="weight")body.weight=Number($("weight").value);
 $("message").textContent=action+"…";
 fetch(base+"control",{method:"POST",headers:{"content-type":"application/json",authorization:"Bearer "+$("token").value},body:JSON.stringify(body)})
 .then(function(res){return res.json().then(function(j){$("message").textContent=res.ok?action+": done by "+j.actor:action+" refused ("+res.status+"): "+(j.message||j.rejection||j.error)})})
 .catch(function(e){$("message").textContent=action+" failed: "+e})}
$("controls").addEventListener("click",function(e){var b=e.target.closest&&e.target.closest("[data-action]");if(b&&!b.disabled)act(b.getAttribute("data-action"))});
var source=new EventSource(base+"events");source.onmessage=function(e){render(JSON.parse(e.data))};
source.onerror=function(){$("phase").textContent="reconnecting…"};
})();
</script>
</body>
</html>
`;
