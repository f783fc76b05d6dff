"""Build the two seed pages shipped in newswatch/demo/pages/ from the seed text.

Run once by hand (`python tests/data/extractors/make_seed_pages.py`); the pages are
committed. The layout imitates a Korean news portal showing an English article:
portal menus in Korean, an AI-summary box quoting two body paragraphs with straight
quotes, a font-size widget, the body, a byline, a copyright line, related headlines.
"""

from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT.parent / "shared" / "seed" / "000_e334cefbcedd34fa.txt"
OUT = ROOT / "newswatch" / "demo" / "pages"

MENU = ["홈", "사회", "정치", "경제", "국제", "문화", "IT", "연재", "포토", "팩트체크", "랭킹"]
FONT_SIZES = ["가장 작게", "작게", "보통", "크게", "가장 크게"]
TOOLS = ["댓글", "요약 보기", "음성으로 듣기", "번역 설정", "글씨크기 조절하기", "인쇄하기"]
REACTIONS = ["추천해요", "좋아요", "감동이에요", "화나요", "슬퍼요"]
FOOTER = ["서비스 약관/정책", "뉴스제휴", "개인정보처리방침", "청소년보호정책", "고객센터"]


def read_seed():
    lines = [l.strip() for l in SEED.read_text(encoding="utf-8").splitlines() if l.strip()]
    title = lines[0]
    intro, summary = lines[1], lines[2:4]
    size_msg, sample = lines[4], lines[5]
    byline_at = next(i for i, l in enumerate(lines) if l.startswith("BY "))
    body = lines[6:byline_at]
    byline, copyright_line = lines[byline_at], lines[byline_at + 1]
    related = [l.lstrip("- ").strip() for l in lines[byline_at + 2:]]
    return dict(title=title, intro=intro, summary=summary, size_msg=size_msg, sample=sample,
                body=body, byline=byline, copyright=copyright_line, related=related)


def head(s):
    e = escape
    return f"""<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<title>{e(s['title'])} | 다음뉴스</title>
<meta property="og:site_name" content="다음뉴스">
<meta property="og:title" content="{e(s['title'])}">
<meta property="og:type" content="article">
<meta property="og:url" content="https://v.daum.net/v/20240105080012345">
<meta property="article:published_time" content="2024-01-05T08:00:12+09:00">
<meta name="author" content="Michael Lee">
<link rel="canonical" href="https://v.daum.net/v/20240105080012345?utm_source=daum&amp;utm_medium=rss">
</head>
"""


def links(items, item_tag, cls=""):
    attr = f' class="{cls}"' if cls else ""
    return "\n".join(f'<{item_tag}{attr}><a href="/v/{2024010500 + i}">{escape(t)}</a></{item_tag}>'
                     for i, t in enumerate(items))


def semantic(s):
    e = escape
    body = "\n".join(f'<p dmcf-ptype="general">{e(p)}</p>' for p in s["body"])
    summary = "\n".join(f"<p>{e(p)}</p>" for p in s["summary"])
    return head(s) + f"""<body>
<header id="kakaoHead">
<h1 class="logo"><a href="/">다음뉴스</a></h1>
<nav class="gnb"><ul>
{links(MENU, "li")}
</ul></nav>
<div class="util_head"><a href="/login">로그인</a> <a href="/search">검색</a></div>
</header>
<main id="kakaoContent">
<article id="mArticle">
<div class="head_view">
<h3 class="tit_view">{e(s['title'])}</h3>
<span class="info_view"><span class="txt_info">코리아중앙데일리</span>
<span class="txt_info">입력 <time datetime="2024-01-05T08:00:12+09:00">2024. 1. 5. 08:00</time></span></span>
<div class="util_view">{"".join(f'<button type="button">{t}</button>' for t in TOOLS)}</div>
</div>
<section class="summary_view" aria-label="자동요약">
<strong class="tit_summary">자동요약</strong>
<p class="desc_summary">{e(s['intro'])}</p>
{summary}
</section>
<div class="layer_size" role="dialog">
<strong>글씨크기 조절하기</strong>
<ul>{"".join(f'<li><button type="button">{t}</button></li>' for t in FONT_SIZES)}</ul>
<p class="txt_size">{e(s['size_msg'])}</p>
<p class="txt_example">{e(s['sample'])}</p>
</div>
<div class="news_view" itemprop="articleBody">
<section dmcf-sid="article">
{body}
<p class="txt_byline">{e(s['byline'])}</p>
</section>
</div>
<p class="txt_copyright">{e(s['copyright'])}</p>
<div class="foot_view">{"".join(f'<button type="button">{t} 0</button>' for t in REACTIONS)}</div>
</article>
<aside class="box_relatednews">
<h4 class="tit_related">코리아중앙데일리 주요 뉴스</h4>
<ul>
{links(s['related'], "li")}
</ul>
<p class="txt_notice">해당 언론사로 연결됩니다.</p>
</aside>
</main>
<footer id="kakaoFoot">
<ul>{links(FOOTER, "li")}</ul>
<small>© Kakao Corp.</small>
</footer>
</body>
</html>
"""


def divs(s):
    e = escape
    body = "\n".join(f'<div class="txt_para">{e(p)}</div>' for p in s["body"])
    summary = "\n".join(f'<div class="txt_item">{e(p)}</div>' for p in s["summary"])
    return head(s) + f"""<body>
<div class="wrap_top">
<div class="wrap_logo"><a href="/">다음뉴스</a></div>
<div class="wrap_menu">
{links(MENU, "div", "item_menu")}
</div>
<div class="util_top"><a href="/login">로그인</a> <a href="/search">검색</a></div>
</div>
<div class="wrap_cont">
<div class="area_main">
<div class="box_title">
<div class="tit_main">{e(s['title'])}</div>
<div class="box_info"><span class="txt_info">코리아중앙데일리</span> <span class="txt_info">입력 2024. 1. 5. 08:00</span></div>
<div class="box_tools">{"".join(f'<span class="btn">{t}</span>' for t in TOOLS)}</div>
</div>
<div class="box_ai">
<div class="tit_ai">자동요약</div>
<div class="txt_item">{e(s['intro'])}</div>
{summary}
</div>
<div class="box_fontctl">
<div class="tit_fontctl">글씨크기 조절하기</div>
<div class="list_fontctl">{"".join(f'<span class="btn">{t}</span>' for t in FONT_SIZES)}</div>
<div class="txt_fontctl">{e(s['size_msg'])}</div>
<div class="txt_sample">{e(s['sample'])}</div>
</div>
<div class="box_body">
{body}
<div class="txt_para">{e(s['byline'])}</div>
</div>
<div class="txt_bottom">{e(s['copyright'])}</div>
<div class="box_btns">{"".join(f'<span class="btn">{t} 0</span>' for t in REACTIONS)}</div>
</div>
<div class="area_sub">
<div class="tit_sub">코리아중앙데일리 주요 뉴스</div>
<div class="list_sub">
{links(s['related'], "div", "item_sub")}
</div>
<div class="txt_notice">해당 언론사로 연결됩니다.</div>
</div>
</div>
<div class="wrap_bottom">
<div class="list_bottom">{links(FOOTER, "span")}</div>
<div class="txt_corp">© Kakao Corp.</div>
</div>
</body>
</html>
"""


if __name__ == "__main__":
    seed = read_seed()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "seed_article.html").write_text(semantic(seed), encoding="utf-8")
    (OUT / "seed_article_divs.html").write_text(divs(seed), encoding="utf-8")
