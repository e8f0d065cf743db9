from ansible_collections.berth.deploy.plugins.module_utils._maintenance import DEFAULT_TEMPLATE, render_page


def test_the_message_is_html_escaped_with_its_line_breaks():
    page = render_page('Back at 14:00 <script>alert("x")</script> & more\nSorry!')
    assert "<p>Back at 14:00 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more<br>\nSorry!</p>" in page
    assert "<script>" not in page and page.startswith("<!doctype html>")


def test_a_custom_template_gets_the_message_wherever_it_asks():
    page = render_page("Upgrading", "<title>%MESSAGE%</title><h1>%MESSAGE%</h1>")
    assert page == "<title>Upgrading</title><h1>Upgrading</h1>\n"


def test_an_empty_message_leaves_an_empty_paragraph():
    assert "<p></p>" in render_page("") and "%MESSAGE%" in DEFAULT_TEMPLATE
